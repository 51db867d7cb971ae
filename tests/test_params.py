"""Parameters: merged from files and the command line, unknown or code-carrying names rejected,
codes kept as text, paths confined to the project or the data folder (the publish folder named on
the command line excepted). No kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from boardpack.cli import app
from boardpack.params import ParamsError, parse_assignments, resolve
from boardpack.publish import PackLocation
from helpers import paths


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "defaults.yml").write_text(
        "icb: QWU\nout_dir: reports\ncommentary_dir: params/commentary\nexecution_timeout: 600\n"
    )
    (tmp_path / "data").mkdir()
    return tmp_path


def test_defaults_quarter_file_and_command_line_merge_in_that_order(root):
    (root / "params" / "2026-27-Q2.yml").write_text("execution_timeout: 900\nrun_timeout: 100\n")
    params = resolve({"quarter": "2026/27Q2", "run_timeout": "50", "data_dir": str(root / "data")}, root=root)
    assert params.quarter == "2026/27 Q2" and params.quarter_id == "2026-27-Q2"
    assert params.execution_timeout == 900  # quarter file over defaults
    assert params.run_timeout == 50  # command line over quarter file
    assert params.sources == [str(root / "params" / "defaults.yml"), str(root / "params" / "2026-27-Q2.yml")]
    other = resolve({"quarter": "2026/27 Q1", "data_dir": str(root / "data")}, root=root)
    assert other.execution_timeout == 600  # the Q2 file does not apply to Q1


def test_notebook_parameters_are_plain_values_with_absolute_paths(root):
    params = resolve({"quarter": "2026/27 Q2"}, root=root)
    values = params.notebook_parameters()
    assert params.sample_data is True and values["sample_data"] is True
    assert values["data_dir"] == str(root / "data" / "sample" / "QWU" / "2026-27-Q2")
    assert Path(values["commentary_dir"]).is_absolute()
    assert set(values) == {
        "quarter",
        "icb",
        "data_dir",
        "targets_file",
        "commentary_dir",
        "baseline_period",
        "sample_data",
        "peers",
        "stale_after_days",
    }
    assert values["peers"] == "england"


def test_misspelt_name_is_rejected_with_the_nearest_valid_name(root):
    with pytest.raises(ParamsError, match=r"unknown parameter 'execution_timout'; did you mean 'execution_timeout'"):
        resolve({"quarter": "2026/27 Q2", "execution_timout": "5"}, root=root)


def test_name_carrying_code_is_rejected_from_command_line_and_file(root):
    with pytest.raises(ParamsError, match=r"unknown parameter 'x\\nimport os'"):
        resolve({"quarter": "2026/27 Q2", "x\nimport os": "1"}, root=root)
    (root / "params" / "defaults.yml").write_text('"icb\\nimport os": 1\n')
    with pytest.raises(ParamsError, match="defaults.yml: unknown parameter"):
        resolve({"quarter": "2026/27 Q2"}, root=root)


def test_ods_code_from_yaml_stays_text(root):
    (root / "params" / "2026-27-Q2.yml").write_text("icb: 00123\n")
    with pytest.raises(ParamsError) as caught:
        resolve({"quarter": "2026/27 Q2"}, root=root)
    assert "'00123'" in str(caught.value)  # read as text, not the number 123
    (root / "params" / "2026-27-Q2.yml").write_text("icb: qyg\n")
    assert resolve({"quarter": "2026/27 Q2"}, root=root).icb == "QYG"


@pytest.mark.parametrize(
    "name, value",
    [
        ("commentary_dir", "params/../../../etc"),
        ("targets_file", "/etc/passwd"),
    ],
)
def test_paths_outside_the_project_are_rejected(root, name, value):
    with pytest.raises(ParamsError, match=f"parameter '{name}'.*outside"):
        resolve({"quarter": "2026/27 Q2", name: value}, root=root)


def test_publish_folder_from_the_command_line_may_be_anywhere(root, tmp_path_factory):
    shared = tmp_path_factory.mktemp("shared-drive") / "board packs"  # outside the project root
    params = resolve({"quarter": "2026/27 Q2", "out_dir": str(shared)}, root=root)
    assert params.out_dir == shared.resolve()
    location = PackLocation(params.out_dir, params.icb, params.quarter_id)
    assert location.link == shared.resolve() / "QWU" / "2026-27-Q2"


def test_relative_publish_folder_from_the_command_line_is_relative_to_the_current_folder(
    root, tmp_path_factory, monkeypatch
):
    here = tmp_path_factory.mktemp("analyst-home")
    monkeypatch.chdir(here)
    assert resolve({"quarter": "2026/27 Q2", "out_dir": "packs"}, root=root).out_dir == here.resolve() / "packs"
    assert resolve({"quarter": "2026/27 Q2", "out_dir": "../up"}, root=root).out_dir == here.resolve().parent / "up"


@pytest.mark.parametrize("value", ["../outside", "/tmp/elsewhere-absolute"])
def test_publish_folder_from_a_parameter_file_stays_in_the_project(root, value):
    (root / "params" / "2026-27-Q2.yml").write_text(f"out_dir: {value}\n")
    with pytest.raises(ParamsError, match="parameter 'out_dir'.*outside.*--out"):
        resolve({"quarter": "2026/27 Q2"}, root=root)
    (root / "params" / "2026-27-Q2.yml").write_text("out_dir: published/packs\n")
    assert resolve({"quarter": "2026/27 Q2"}, root=root).out_dir == root.resolve() / "published" / "packs"


@pytest.mark.parametrize(
    "name, value",
    [
        ("icb", "../x"),
        ("icb", "QWU/../../x"),
        ("icb", "/etc"),
        ("icb", ".."),
        ("quarter", "../x"),
        ("quarter", "2026/27 Q2/../../x"),
        ("quarter", ".."),
    ],
)
def test_codes_that_would_lead_out_of_the_publish_folder_are_rejected(root, tmp_path_factory, name, value):
    shared = tmp_path_factory.mktemp("shared-drive")
    with pytest.raises(ParamsError, match=f"parameter '{name}'"):
        resolve({"quarter": "2026/27 Q2", "out_dir": str(shared), name: value}, root=root)
    if name == "icb":  # the same from a parameter file
        (root / "params" / "2026-27-Q2.yml").write_text(f"icb: '{value}'\n")
        with pytest.raises(ParamsError, match="parameter 'icb'"):
            resolve({"quarter": "2026/27 Q2", "out_dir": str(shared)}, root=root)


@pytest.mark.parametrize(
    "icb, quarter_id",
    [("../x", "2026-27-Q2"), ("QWU", "../x"), ("QWU", ".."), ("", "2026-27-Q2"), ("QWU", "a/b"), ("QWU", "a\\b")],
)
def test_a_pack_location_takes_only_plain_folder_names(tmp_path, icb, quarter_id):
    # The last guard, whatever validated the names: a pack is always inside its publish folder.
    with pytest.raises(ValueError, match="not a plain folder name"):
        PackLocation(tmp_path, icb, quarter_id)


def test_input_paths_may_sit_in_the_given_data_folder(root):
    (root / "data" / "targets.yml").write_text("{}\n")
    params = resolve(
        {"quarter": "2026/27 Q2", "data_dir": str(root / "data"), "targets_file": str(root / "data" / "targets.yml")},
        root=root,
    )
    assert params.targets_file == root / "data" / "targets.yml"


def test_bad_values_name_the_parameter(root):
    with pytest.raises(ParamsError, match="parameter 'quarter'"):
        resolve({"quarter": "2026/27 Q7"}, root=root)
    with pytest.raises(ParamsError, match="parameter 'execution_timeout'"):
        resolve({"quarter": "2026/27 Q2", "execution_timeout": "soon"}, root=root)
    with pytest.raises(ParamsError, match="parameter 'data_dir': no such folder"):
        resolve({"quarter": "2026/27 Q2", "data_dir": str(root / "missing")}, root=root)


def test_assignments_need_an_equals_sign():
    assert parse_assignments(["run_timeout=5", "a=b=c"]) == {"run_timeout": "5", "a": "b=c"}
    with pytest.raises(ParamsError, match="NAME=VALUE"):
        parse_assignments(["run_timeout"])


def _log_files() -> set[Path]:
    folder = paths.CACHE_DIR / "logs"
    return set(folder.iterdir()) if folder.is_dir() else set()


@pytest.mark.parametrize(
    "args",
    [
        ["--param", "x\nimport os=1"],
        ["--param", "execution_timout=5"],
        ["--icb", "00123"],
        ["--sections", "no_such_section"],
    ],
)
def test_build_command_exits_2_before_anything_runs(args):
    before = _log_files()
    result = CliRunner().invoke(app, ["build", "--quarter", "2026/27 Q2", *args])
    assert result.exit_code == 2, result.output
    assert "Invalid parameters" in result.output
    assert _log_files() == before  # no build was started, so no kernel either


def test_engine_is_fork_by_default_kernel_on_request_and_nothing_else(root):
    assert resolve({"quarter": "2026/27 Q2"}, root=root).engine == "fork"
    assert resolve({"quarter": "2026/27 Q2", "engine": "kernel"}, root=root).engine == "kernel"
    with pytest.raises(ParamsError, match="'engine'"):
        resolve({"quarter": "2026/27 Q2", "engine": "thread"}, root=root)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("England", "england"),
        (" region ", "region"),
        ("qwu, QHL", ["QHL", "QWU"]),  # comma-separated on the command line
        (["QUA", "qwu"], ["QUA", "QWU"]),  # a YAML list
    ],
)
def test_peer_group_is_england_region_or_icb_codes(root, given, used):
    assert resolve({"quarter": "2026/27 Q2", "peers": given}, root=root).peers == used


@pytest.mark.parametrize("given", ["national", "QWU,XXX", ","])
def test_a_peer_group_that_is_not_one_is_refused_naming_the_parameter(root, given):
    with pytest.raises(ParamsError, match="parameter 'peers'"):
        resolve({"quarter": "2026/27 Q2", "peers": given}, root=root)
