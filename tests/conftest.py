"""Test tiers, the check that each test starts only what its tier allows, and the shared fixtures.

Tiers (markers, registered in pyproject.toml):
- ``unit``: no kernel, no browser, no subprocess (given to every test that names no other tier);
- ``integration``: kernels and subprocesses on small fixture notebooks and data (no browser);
- ``e2e``: the real notebooks, the real pack, real Chromium;
- ``slow``: national scale, executor equivalence on many packs, long limits (``make test-all`` only).

``make test`` runs everything but ``slow``; ``make test-all`` runs everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e", "slow")
# What each tier may start. A kernel or the browser is also a subprocess.
ALLOWED = {
    "unit": set(),
    "integration": {"subprocess", "kernel"},
    "e2e": {"subprocess", "kernel", "browser"},
    "slow": {"subprocess", "kernel", "browser"},
}
# "Today" for every test and every process the tests start (kernels inherit the environment): a
# test never depends on the date it runs. 2026/27 Q3 is running, so 2026/27 Q2 is the latest complete.
TODAY = "2026-11-29"
os.environ["BOARDPACK_TODAY"] = TODAY

QUARTER_LABEL = "2026/27 Q2"
QUARTER_ID = "2026-27-Q2"
ICB = "QWU"
NATIONAL_ICBS = ["QWU", "QHG", "QOX"]
BOARDPACK = [sys.executable, "-m", "boardpack"]


# -- tiers ----------------------------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    for item in items:
        tiers = [m.name for m in item.iter_markers() if m.name in TIERS]
        if not tiers:
            item.add_marker(pytest.mark.unit)


def _tier(item) -> str:
    """The most permissive tier a test is marked with."""
    names = {m.name for m in item.iter_markers()}
    return next((t for t in reversed(TIERS) if t in names), "unit")


_started: list[tuple[str, str]] | None = None  # what the running test started, while recorded


def _kind(event: str, args: tuple) -> str | None:
    if event in ("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn"):
        return "subprocess"
    if event != "subprocess.Popen":
        return None
    argv = args[1] if isinstance(args[1], (list, tuple)) else [args[1]]
    words = " ".join(str(a) for a in argv)
    program = Path(str(argv[0])).name if argv else ""
    if "ipykernel" in words:
        return "kernel"
    if program in ("node", "chromium", "chromium-browser") or "tools/a11y" in words:
        return "browser"
    return "subprocess"


def _audit(event: str, args: tuple) -> None:
    if _started is None:
        return
    kind = _kind(event, args)
    if kind:
        argv = args[1] if event == "subprocess.Popen" else args
        _started.append((kind, " ".join(str(a) for a in (argv if isinstance(argv, (list, tuple)) else [argv]))[:160]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: recording is switched on per test phase


def _check_started(item, phase: str, started: list[tuple[str, str]]) -> None:
    tier = _tier(item)
    wrong = [(kind, what) for kind, what in started if kind not in ALLOWED[tier]]
    if wrong:
        needed = "e2e" if any(kind == "browser" for kind, _ in wrong) else "integration"
        listed = "; ".join(f"{kind}: {what}" for kind, what in wrong[:3])
        pytest.fail(
            f"{item.nodeid} ({tier} tier) started a {wrong[0][0]} during {phase} ({listed}); "
            f"mark it @pytest.mark.{needed} or keep it in-process",
            pytrace=False,
        )


def _recorded(item, phase: str):
    global _started
    _started = []
    try:
        result = yield
    finally:
        started, _started = _started, None
    _check_started(item, phase, started)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _recorded(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _recorded(item, "the test"))


# -- shared data and the real pack -------------------------------------------------------------------
@pytest.fixture(scope="session")
def qwu_sample(tmp_path_factory) -> Path:
    """The QWU sample data to 2026/27 Q2 (seed 20221, as `make pack` writes it), generated once,
    in-process. Read-only: a test that changes data copies the folder first."""
    from sampledata.generate import generate, write

    folder = tmp_path_factory.mktemp("qwu-sample") / QUARTER_ID
    write(generate(ICB, QUARTER_LABEL, seed=20221), folder, "csv")
    return folder


@pytest.fixture(scope="session")
def three_icb_sample(tmp_path_factory) -> Path:
    """One small many-ICB folder: QWU, QHG and QOX at the density of one ICB's sample (a national
    extract's layout at 1/24 of its size), to 2026/27 Q2, generated once, in-process. Read-only."""
    import pandas as pd

    from sampledata.generate import TABLES, generate, write

    per_icb = [generate(icb, QUARTER_LABEL, seed=20221) for icb in NATIONAL_ICBS]
    folder = tmp_path_factory.mktemp("three-icbs") / QUARTER_ID
    write({name: pd.concat([tables[name] for tables in per_icb], ignore_index=True) for name in TABLES}, folder, "csv")
    return folder


def new_project(tmp_path_factory, name: str) -> Path:
    """A project root of its own (notebooks, parameters, lock file): its own cache and reports."""
    from helpers import paths

    root = tmp_path_factory.mktemp(name)
    for folder in ("notebooks", "params"):
        shutil.copytree(paths.PROJ_ROOT / folder, root / folder)
    shutil.copy(paths.PROJ_ROOT / "requirements.lock", root / "requirements.lock")
    return root


def run_boardpack(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """The real command line, in project ``root``, its messages unwrapped."""
    env = dict(os.environ, BOARDPACK_ROOT=str(root), COLUMNS="200")
    return subprocess.run([*BOARDPACK, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout)


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory, qwu_sample) -> dict:
    """The real sample pack (QWU, 2026/27 Q2, PDF included), built once through the real command
    line with the real notebooks, then built again unchanged (every section from the cache).

    Read-only: tests inspect ``folder`` and compare with ``before``; a test that publishes must use
    ``--out`` or a project of its own."""
    root = new_project(tmp_path_factory, "sample-pack")
    data = root / "data" / "sample" / ICB / QUARTER_ID  # where `make pack` keeps the sample data
    shutil.copytree(qwu_sample, data)
    cold = run_boardpack(root, "build", "--quarter", QUARTER_LABEL, "--icb", ICB)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    folder = root / "reports" / ICB / QUARTER_ID
    html_path = Path(cold.stdout.strip().splitlines()[-1])
    assert html_path == folder / "board_pack.html"
    before = files_of(folder)
    warm = run_boardpack(root, "build", "--quarter", QUARTER_LABEL, "--icb", ICB)
    return {
        "root": root,
        "folder": folder,
        "html": html_path.read_text(encoding="utf-8"),
        "cold": cold,
        "warm": warm,
        "before": before,
        "data": data,
    }


FIXTURE_NOTEBOOK = Path(__file__).parent / "notebooks" / "engagement_section.ipynb"


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    """A data folder of two small tables and a file that is not a table (fixture notebooks read it)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "engagement.csv").write_text("IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q2,events,15\n")
    (folder / "deliverables.csv").write_text("IcbCode\nQWU\n")
    (folder / "notes.txt").write_text("not a table")
    return folder


def fixture_parameters(data: Path) -> dict:
    """The parameters the build injects, for a fixture notebook reading ``data``."""
    return {
        "quarter": "2026/27 Q2",
        "icb": "QWU",
        "data_dir": str(data),
        "targets_file": "",
        "commentary_dir": str(data),
        "baseline_period": "2019-20-Q1..2019-20-Q4",
        "sample_data": False,
    }
