"""``boardpack batch`` on a local process pool, a Dask LocalCluster and a real Dask scheduler and
workers (subprocesses on 127.0.0.1): every pack equals the one ``boardpack build`` makes, a rerun
submits nothing, and a failing section fails only its own pack.

``make test`` builds two small packs (two ICBs of the shared three-ICB folder, the two
quickest sections) on each Dask executor; the ``slow`` tier builds three ICBs x two quarters with
every section. PDFs off (they are not compared).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import files_of, new_project, run_boardpack

from boardpack import batch
from boardpack.batch import BatchError, BatchResult, PackOutcome, parse_executor, parse_icbs, parse_quarters
from boardpack.sections import SECTIONS
from helpers.quarters import parse

FIXTURES = Path(__file__).parent / "notebooks"

ICBS = ["QWU", "QHG", "QOX"]
QUARTERS = [parse("2026/27 Q1"), parse("2026/27 Q2")]
RANGE = f"{QUARTERS[0].id}..{QUARTERS[-1].id}"
BOARDPACK = [sys.executable, "-m", "boardpack"]
BIN = Path(sys.executable).parent
SMALL = ["60_engagement", "70_deliverables"]  # the two quickest real sections


# -- arguments and the index (no kernels) ---------------------------------------------------------
def test_executor_specs():
    assert parse_executor("local:3") == batch.ExecutorSpec("local", workers=3)
    assert parse_executor("dask-local:2") == batch.ExecutorSpec("dask-local", workers=2)
    assert parse_executor("dask:tcp://127.0.0.1:8786") == batch.ExecutorSpec("dask", address="tcp://127.0.0.1:8786")
    assert parse_executor(None).kind == "local"
    for bad in ("local", "local:0", "local:x", "ray:4", "dask:"):
        with pytest.raises(BatchError, match="--executor"):
            parse_executor(bad)


def test_icb_lists():
    assert parse_icbs("qwu, QHG,QWU") == ["QWU", "QHG"]
    assert len(parse_icbs("ALL")) == 42
    with pytest.raises(BatchError, match="ZZZ"):
        parse_icbs("QWU,ZZZ")


def test_quarter_ranges():
    assert [q.id for q in parse_quarters("2025-26-Q4..2026-27-Q2")] == ["2025-26-Q4", "2026-27-Q1", "2026-27-Q2"]
    assert [q.id for q in parse_quarters("2026/27 Q2")] == ["2026-27-Q2"]
    with pytest.raises(BatchError, match="--quarters"):
        parse_quarters("2026-27-Q5")


def test_data_folder_per_quarter_or_shared(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "by_quarter" / QUARTERS[0].id).mkdir(parents=True)
    assert batch.data_folder(tmp_path / "shared", QUARTERS[0], tmp_path) == (tmp_path / "shared", False)
    assert batch.data_folder(tmp_path / "by_quarter", QUARTERS[0], tmp_path) == (
        tmp_path / "by_quarter" / QUARTERS[0].id,
        False,
    )
    with pytest.raises(BatchError, match="no such folder"):
        batch.data_folder(tmp_path / "missing", QUARTERS[0], tmp_path)


def test_index_escapes_causes_and_links_relatively(tmp_path):
    import datetime as dt

    packs = [
        PackOutcome(
            "QWU",
            "NHS Bath & North East Somerset",
            "2026/27 Q2",
            "2026-27-Q2",
            0,
            "published",
            "published",
            12.0,
            30.0,
            ["00_summary"],
            [],
            str(tmp_path / "QWU" / "2026-27-Q2" / "board_pack.html"),
        ),
        PackOutcome(
            "QHG",
            "Luton",
            "2026/27 Q2",
            "2026-27-Q2",
            3,
            "failed (section)",
            "section 10 failed: <script>alert(1)</script> <img src=x onerror=alert(1)>",
            20.0,
            5.0,
        ),
    ]
    result = BatchResult(packs, 9, 1, 30.0, "local process pool, 2 workers")
    index = batch.write_index(result, tmp_path, dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC))
    text = index.read_text(encoding="utf-8")
    assert "<script" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'href="../QWU/2026-27-Q2/board_pack.html"' in text
    assert "1 failed" in text and "4.0 packs per minute" in text
    record = json.loads(index.with_suffix(".json").read_text())
    assert [p["exit_code"] for p in record["packs"]] == [0, 3]
    assert result.exit_code == 1


@pytest.mark.e2e
def test_index_has_no_wcag_a_or_aa_violations_in_a_real_browser(tmp_path):
    import datetime as dt

    from boardpack.check import format_violations, run_axe

    packs = [
        PackOutcome(
            "QHG", "Luton", "2026/27 Q2", "2026-27-Q2", 3, "failed (section)", "section failed: <b>x</b>", 2.0, 1.0
        ),
        PackOutcome(
            "QWU",
            "Bath",
            "2026/27 Q2",
            "2026-27-Q2",
            0,
            "published",
            "ok",
            3.0,
            2.0,
            ["00_summary"],
            [],
            str(tmp_path / "QWU" / "2026-27-Q2" / "board_pack.html"),
        ),
    ]
    index = batch.write_index(
        BatchResult(packs, 1, 1, 3.0, "local"), tmp_path, dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    )
    report = run_axe(index, tmp_path / "axe.json")
    assert report["violations"] == [], format_violations(report)
    assert report["passes"]


# -- real batches --------------------------------------------------------------------------------
def _pack_content(pack: Path) -> dict:
    """What must be identical: the appendix tables (values) and every figure's bytes."""
    html = (pack / "board_pack.html").read_text(encoding="utf-8")
    figures = re.findall(r'src="(data:image/[^"]+)"', html)
    tables = {p.relative_to(pack).as_posix(): p.read_bytes() for p in sorted((pack / "appendix").rglob("*.csv"))}
    assert figures and tables
    return {"figures": figures, "tables": tables}


def _published(out: Path) -> dict:
    return {path: content for path, content in files_of(out).items() if "batches" not in path.parts}


def _national(tmp_path_factory, quarters) -> Path:
    """One folder per quarter, each holding the three ICBs' tables (as a national extract would)."""
    data = tmp_path_factory.mktemp("national")
    for quarter in quarters:
        done = subprocess.run(
            [
                *BOARDPACK,
                "sample-data",
                "--scale",
                "national",
                "--icbs",
                ",".join(ICBS),
                "--to",
                quarter.label,
                "--out",
                str(data / quarter.id),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
    return data


def _references(tmp_path_factory, data_of, icbs, quarters, sections: list[str]) -> dict:
    """Each pack built on its own by `boardpack build`, in a project of its own (its own cache)."""
    root = new_project(tmp_path_factory, "reference")
    packs = {}
    for quarter in quarters:
        for icb in icbs:
            built = run_boardpack(
                root,
                "build",
                "--icb",
                icb,
                "--quarter",
                quarter.label,
                "--data",
                str(data_of(quarter)),
                "--no-pdf",
                *(["--sections", ",".join(sections)] if sections else []),
                timeout=1800,
            )
            assert built.returncode == 0, built.stdout + built.stderr
            packs[(icb, quarter.id)] = _pack_content(root / "reports" / icb / quarter.id)
    return packs


def _check_batch(root: Path, executor: str, data: Path, data_of, icbs, quarters, sections, reference: dict) -> None:
    args = [
        "batch",
        "--icb",
        ",".join(icbs),
        "--quarters",
        f"{quarters[0].id}..{quarters[-1].id}",
        "--data",
        str(data),
        "--executor",
        executor,
        "--no-pdf",
        *(["--sections", ",".join(sections)] if sections else []),
    ]
    first = run_boardpack(root, *args, timeout=1800)
    assert first.returncode == 0, first.stdout + first.stderr
    index = Path(first.stdout.strip().splitlines()[-1])
    record = json.loads(index.with_suffix(".json").read_text())
    assert record["submitted_sections"] == (len(sections) or len(SECTIONS)) * len(icbs) * len(quarters)
    assert record["submitted_assembles"] == len(icbs) * len(quarters)
    assert {(p["icb"], p["quarter_id"], p["status"]) for p in record["packs"]} == {
        (i, q.id, "published") for i in icbs for q in quarters
    }
    html = index.read_text(encoding="utf-8")
    for icb in icbs:
        for quarter in quarters:
            pack = root / "reports" / icb / quarter.id
            assert _pack_content(pack) == reference[(icb, quarter.id)], (icb, quarter.id)
            assert f'href="../{icb}/{quarter.id}/board_pack.html"' in html
            manifest = json.loads((pack / "manifest.json").read_text())
            assert manifest["source"]["source_dir"] == str(data_of(quarter))

    before = _published(root / "reports")
    again = run_boardpack(root, *args, timeout=1800)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = json.loads(Path(again.stdout.strip().splitlines()[-1]).with_suffix(".json").read_text())
    assert (rerun["submitted_sections"], rerun["submitted_assembles"]) == (0, 0)
    assert {p["status"] for p in rerun["packs"]} == {"up to date"}
    assert _published(root / "reports") == before


# Two small packs: QWU and QHG of the shared three-ICB folder (2026/27 Q2), two sections each.
SMALL_ICBS = ICBS[:2]


@pytest.fixture(scope="module")
def small_reference(tmp_path_factory, three_icb_sample) -> dict:
    return _references(tmp_path_factory, lambda q: three_icb_sample, SMALL_ICBS, QUARTERS[-1:], SMALL)


@pytest.mark.e2e
def test_two_small_packs_on_a_dask_local_cluster_equal_boardpack_build_and_a_rerun_submits_nothing(
    tmp_path_factory, three_icb_sample, small_reference
):
    _check_batch(
        new_project(tmp_path_factory, "dask-local"),
        "dask-local:2",
        three_icb_sample,
        lambda q: three_icb_sample,
        SMALL_ICBS,
        QUARTERS[-1:],
        SMALL,
        small_reference,
    )


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker` (2 processes, 1 thread each) on 127.0.0.1."""
    scheduler_file = tmp_path / "scheduler.json"
    common = dict(cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    scheduler = subprocess.Popen(
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        **common,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                **common,
            )
        )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):  # ended by their process ids (and their children)
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.e2e
def test_two_small_packs_on_a_real_dask_scheduler_equal_boardpack_build_and_a_rerun_submits_nothing(
    tmp_path_factory, three_icb_sample, small_reference, dask_cluster
):
    _check_batch(
        new_project(tmp_path_factory, "dask-scheduler"),
        f"dask:{dask_cluster}",
        three_icb_sample,
        lambda q: three_icb_sample,
        SMALL_ICBS,
        QUARTERS[-1:],
        SMALL,
        small_reference,
    )


# -- slow: three ICBs x two quarters, every section ---------------------------------------------
@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    return _national(tmp_path_factory, QUARTERS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, national) -> dict:
    return _references(tmp_path_factory, lambda q: national / q.id, ICBS, QUARTERS, [])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_batch_on_a_dask_local_cluster_equals_boardpack_build_and_reruns_nothing(tmp_path_factory, national, reference):
    _check_batch(
        new_project(tmp_path_factory, "dask-local"),
        "dask-local:2",
        national,
        lambda q: national / q.id,
        ICBS,
        QUARTERS,
        [],
        reference,
    )


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_batch_on_a_real_dask_scheduler_equals_boardpack_build_and_reruns_nothing(
    tmp_path_factory, national, reference, dask_cluster
):
    _check_batch(
        new_project(tmp_path_factory, "dask-scheduler"),
        f"dask:{dask_cluster}",
        national,
        lambda q: national / q.id,
        ICBS,
        QUARTERS,
        [],
        reference,
    )


# -- failures and limits ----------------------------------------------------------------------------
def _failing_section_fails_only_its_own_pack(tmp_path_factory, data: Path, executor: str) -> None:
    from boardpack.sections import SECTIONS, Section
    from helpers import paths

    root = new_project(tmp_path_factory, "failing")
    # A real section notebook with one extra cell that fails for QHG only (a real kernel error).
    notebook = nbformat.read(paths.NOTEBOOKS_DIR / "60_engagement.ipynb", as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            'if icb == "QHG":\n    raise RuntimeError("deliberate failure in QHG engagement")', id="deliberate-failure"
        )
    )
    path = root / "notebooks" / "60_engagement.ipynb"
    nbformat.write(notebook, path)
    sections = [Section(s.id, s.title, path, s.tables) for s in SECTIONS if s.id == "60_engagement"] + [
        s for s in SECTIONS if s.id == "70_deliverables"
    ]
    result = batch.run_batch(
        ICBS,
        QUARTERS[-1:],
        data=data,
        executor=parse_executor(executor),
        pdf=False,
        sections=sections,
        root=root,
        out=root / "reports",
    )
    by_icb = {p.icb: p for p in result.packs}
    assert result.exit_code == 1 and [p.icb for p in result.failed] == ["QHG"]
    assert by_icb["QHG"].exit_code == 3 and "deliberate failure in QHG engagement" in by_icb["QHG"].message
    assert not (root / "reports" / "QHG" / QUARTERS[-1].id).exists()  # nothing published for it
    for icb in ("QWU", "QOX"):
        assert by_icb[icb].status == "published"
        assert (root / "reports" / icb / QUARTERS[-1].id / "board_pack.html").is_file()
    html = result.index.read_text(encoding="utf-8")
    assert "deliberate failure in QHG engagement" in html and "1 failed" in html


@pytest.mark.e2e
def test_a_failing_section_fails_only_its_own_pack_with_the_cause_in_the_index(tmp_path_factory, three_icb_sample):
    _failing_section_fails_only_its_own_pack(tmp_path_factory, three_icb_sample, "local:2")


@pytest.mark.slow
def test_a_failing_section_fails_only_its_own_pack_on_a_dask_local_cluster(tmp_path_factory, three_icb_sample):
    _failing_section_fails_only_its_own_pack(tmp_path_factory, three_icb_sample, "dask-local:2")


@pytest.mark.slow
def test_run_timeout_bounds_each_pack_not_the_whole_batch(tmp_path_factory, three_icb_sample):
    """A batch may run longer than run_timeout; only a pack running longer fails (hung-pack guard).

    Three packs of one fixture section that sleeps 10 s, one after another on one worker: the batch
    cannot take less than 30 s, whatever the machine, so a 25 s limit counted from the batch's start
    would fail the last pack; counted from each pack's start, it leaves a pack 15 s for its kernel
    start and render (about 5 s here)."""
    from boardpack.sections import Section

    root = new_project(tmp_path_factory, "limit")
    sleeps = Section("80_sleeps", "Sleeps", FIXTURES / "sleeps.ipynb", ("engagement",))
    limit, asleep = 25, 10
    result = batch.run_batch(
        ICBS,
        QUARTERS[-1:],
        data=three_icb_sample,
        executor=parse_executor("local:1"),
        pdf=False,
        sections=[sleeps],
        root=root,
        out=root / "reports",
        values={"run_timeout": str(limit)},
    )
    assert len(result.packs) == len(ICBS) == 3 and asleep * len(ICBS) > limit
    assert result.exit_code == 0, [(p.icb, p.quarter, p.message) for p in result.failed]
    assert result.duration_s > limit
    assert all(p.section_s >= asleep for p in result.packs)  # each pack really slept


@pytest.mark.slow
def test_run_timeout_still_stops_a_pack_that_runs_too_long(tmp_path_factory, three_icb_sample):
    """The same guard stops one pack that outlives it: one sleeping pack against a 5 s limit."""
    from boardpack.sections import Section

    root = new_project(tmp_path_factory, "limit-hit")
    sleeps = Section("80_sleeps", "Sleeps", FIXTURES / "sleeps.ipynb", ("engagement",))
    result = batch.run_batch(
        ICBS[:1],
        QUARTERS[-1:],
        data=three_icb_sample,
        executor=parse_executor("local:1"),
        pdf=False,
        sections=[sleeps],
        root=root,
        out=root / "reports",
        values={"run_timeout": "5"},
    )
    assert result.exit_code == 1
    assert "5 s" in result.packs[0].message or "limit" in result.packs[0].message, result.packs[0].message
    assert not (root / "reports" / ICBS[0] / QUARTERS[-1].id).exists()
