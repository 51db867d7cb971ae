"""boardpack validate: the report on the terminal and in a log, and the exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_loading import QUARTER, valid_tables, write_folder
from typer.testing import CliRunner

from boardpack import validate
from boardpack.cli import app
from helpers.paths import PROJ_ROOT, REPORTS_DIR
from helpers.quarters import latest_complete

runner = CliRunner()
BOARDPACK = Path(sys.executable).parent / "boardpack"


def test_valid_folder_exits_0_and_logs_the_report(tmp_path):
    folder = write_folder(tmp_path / "data")
    log = tmp_path / "logs" / "validate.log"
    result = runner.invoke(app, ["validate", "--data", str(folder), "--quarter", QUARTER, "--log", str(log)])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    text = log.read_text(encoding="utf-8")
    assert "Quarter reported: 2026/27 Q2" in text and "No problems found" in text


def test_invalid_folder_exits_2_and_reports_every_problem(tmp_path):
    tables = valid_tables()
    tables["recruitment"].loc[0, "Participants"] = "n/a"
    tables["finance"].loc[2, "AmountGBP"] = "£10"
    folder = write_folder(tmp_path / "data", tables)
    log = tmp_path / "validate.log"
    result = runner.invoke(app, ["validate", "--data", str(folder), "--quarter", QUARTER, "--log", str(log)])
    assert result.exit_code == 2
    text = log.read_text(encoding="utf-8")
    for where in ("recruitment.csv", "row 2, column Participants", "finance.csv", "row 4, column AmountGBP"):
        assert where in result.output and where in text
    assert "2 errors" in text and "INVALID" in result.output


def test_warnings_alone_still_validate(tmp_path):
    tables = valid_tables()
    tables["recruitment"].loc[0, "Participants"] = "1,000"
    log = tmp_path / "validate.log"
    result = runner.invoke(
        app,
        ["validate", "--data", str(write_folder(tmp_path / "data", tables)), "--quarter", QUARTER, "--log", str(log)],
    )
    assert result.exit_code == 0
    assert "read as 1000" in log.read_text(encoding="utf-8")


def test_bad_quarter_and_missing_folder_exit_2(tmp_path):
    result = runner.invoke(
        app, ["validate", "--data", str(tmp_path), "--quarter", "2026/27 Q5", "--log", str(tmp_path / "x.log")]
    )
    assert result.exit_code == 2 and "Invalid --quarter" in result.output
    result = runner.invoke(
        app, ["validate", "--data", str(tmp_path / "none"), "--quarter", QUARTER, "--log", str(tmp_path / "x.log")]
    )
    assert result.exit_code == 2 and "data folder not found" in result.output


def test_log_is_never_written_into_reports(tmp_path):
    log = REPORTS_DIR / "validate-test.log"
    result = runner.invoke(
        app, ["validate", "--data", str(write_folder(tmp_path / "data")), "--quarter", QUARTER, "--log", str(log)]
    )
    assert result.exit_code == 2 and "reports/" in result.output
    assert not log.exists()


def test_default_quarter_and_default_log_place(tmp_path):
    folder = write_folder(tmp_path / "data")
    before = set(validate.LOG_DIR.glob("validate-*.log")) if validate.LOG_DIR.exists() else set()
    code = validate.run(folder, None, None)
    # Other runs may log at the same time: keep the logs that report this folder.
    new_logs = {
        log
        for log in set(validate.LOG_DIR.glob("validate-*.log")) - before
        if f"Data folder: {folder.resolve()}" in log.read_text(encoding="utf-8")
    }
    try:
        assert validate.LOG_DIR == PROJ_ROOT / ".cache" / "logs"
        assert len(new_logs) == 1
        log = new_logs.pop()
        assert latest_complete().id in log.name
        assert f"Quarter reported: {latest_complete()}" in log.read_text(encoding="utf-8")
        # The test data end in 2026/27 Q2: for any later default quarter they are reported as stale.
        assert code == (0 if latest_complete().id == "2026-27-Q2" else 2)
    finally:
        for path in new_logs:
            path.unlink()


@pytest.mark.integration
def test_console_script_exit_codes(tmp_path):
    folder = write_folder(tmp_path / "data")
    ok = subprocess.run(
        [str(BOARDPACK), "validate", "--data", str(folder), "--quarter", QUARTER, "--log", str(tmp_path / "a.log")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (folder / "studies.csv").unlink()
    bad = subprocess.run(
        [str(BOARDPACK), "validate", "--data", str(folder), "--quarter", QUARTER, "--log", str(tmp_path / "b.log")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "no file for table studies" in bad.stdout


def test_sample_data_generator_output_validates(tmp_path):
    from sampledata.generate import run as sample_data

    out = tmp_path / "sample"
    assert sample_data(out=out, icb="QWU", to=QUARTER, scale="icb", seed=20221) == 0
    log = tmp_path / "validate.log"
    result = runner.invoke(app, ["validate", "--data", str(out), "--quarter", QUARTER, "--log", str(log)])
    assert result.exit_code == 0, log.read_text(encoding="utf-8")
    assert "No problems found" in log.read_text(encoding="utf-8")
