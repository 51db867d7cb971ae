"""build_pack end to end with real kernels on fixture sections in a temporary project:
publish, cache hits, exactly the stale sections re-run, failures and locks leave the pack intact."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from boardpack import publish
from boardpack.build import build_pack
from boardpack.hashing import sha256_file
from boardpack.params import resolve
from boardpack.sections import Section
from helpers import paths

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent / "notebooks"
BUILT_AT = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ENGAGEMENT = Section("60_engagement", "Engagement fixture", FIXTURES / "engagement_section.ipynb", ("engagement",))
DELIVERABLES = Section("70_deliverables", "Deliverables", FIXTURES / "deliverables_section.ipynb", ("deliverables",))
RAISES = Section("80_raises", "Raises", FIXTURES / "raises.ipynb", ("engagement",))


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


class Project:
    """A temporary project root with a valid data folder and a log of kernels that ran."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "extract"
        self.data.mkdir(parents=True)
        (self.data / "engagement.csv").write_text(
            "IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q1,events,12\nQWU,2026-27-Q2,events,15\n"
        )
        (self.data / "deliverables.csv").write_text(
            "IcbCode,DeliverableId,Deliverable,Owner,DueQuarter,Quarter,Status\n"
            "QWU,D1,Open a hub,R&I lead,2026-27-Q4,2026-27-Q2,on_track\n"
        )
        self.run_log = root / "kernel-runs.log"  # the fixture notebooks append here, next to the data
        self.run_log.touch()

    def params(self, data: Path | None = None):
        return resolve({"quarter": "2026/27 Q2", "data_dir": str(data or self.data)}, root=self.root)

    def runs(self) -> list[str]:
        return self.run_log.read_text().split()

    def build(self, sections=(ENGAGEMENT, DELIVERABLES), **kwargs):
        return build_pack(
            self.params(kwargs.pop("data", None)), sections=list(sections), jobs=2, built_at=BUILT_AT, **kwargs
        )


def _built(root: Path) -> Project:
    project = Project(root)
    cold = project.build()
    assert cold.exit_code == 0, cold.message
    project.cold = cold
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Built once for the module. Its data never change (a test that changes data builds its own
    project), so its tests pass in any order."""
    return _built(tmp_path_factory.mktemp("project"))


def test_cold_build_publishes_every_section(project):
    cold = project.cold
    assert [s.status for s in cold.sections] == ["executed", "executed"]
    assert sorted(project.runs()[:2]) == ["deliverables", "engagement"]
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    assert cold.html == pack / "board_pack.html" and pack.is_symlink()
    html = cold.html.read_text()
    assert 'id="section-60_engagement"' in html and 'id="section-70_deliverables"' in html
    assert {
        "board_pack.html",
        "board_pack.pdf",
        "manifest.json",
        "appendix/tables.xlsx",
    } <= set(_files(pack))
    # The appendix holds the sections' declared tables as the KPI stage computed them into their
    # stores (helpers.section_tables), not what the notebooks displayed: the fixtures' own payloads
    # (engagement_rows) stay out of it.
    assert sorted(p for p in _files(pack) if p.endswith(".csv")) == [
        "appendix/60_engagement_headline_kpis.csv",
        "appendix/deliverables.csv",
        "appendix/engagement.csv",
    ]
    assert cold.log_file and "resolved parameters" in cold.log_file.read_text()


def test_manifest_records_inputs_sections_and_outputs(project):
    import json

    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["parameters"]["icb"] == "QWU" and manifest["parameters"]["data_dir"] == str(project.data)
    assert manifest["inputs"]["engagement"] == {
        "path": str(project.data / "engagement.csv"),
        "sha256": sha256_file(project.data / "engagement.csv"),
    }
    assert manifest["outputs"]["board_pack.html"] == sha256_file(pack / "board_pack.html")
    assert {s["id"]: s["cache_hit"] for s in manifest["sections"]} == {"60_engagement": False, "70_deliverables": False}
    assert all(len(s["content_hash"]) == 64 for s in manifest["sections"])
    assert manifest["packages"]["papermill"] and "dirty" in manifest["git"]


def test_manifest_keeps_the_record_and_the_revisions_since_the_previous_pack(tmp_path):
    import json

    from helpers import pack_record

    project = _built(tmp_path)
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    manifest = json.loads((pack / "manifest.json").read_text())
    record = manifest["kpis"]
    assert (record["format"], record["icb"], record["quarter_id"]) == (pack_record.FORMAT, "QWU", "2026-27-Q2")
    assert [(d["id"], d["status"], d["rag"]) for d in record["deliverables"]] == [("D1", "on_track", "on_track")]
    shown = next(k for k in record["kpis"] if k["kpi"] == "deliverables_on_track_pct")
    assert shown["history"][-1] == {
        "quarter": "2026-27-Q2",
        "value": 100.0,
        "suppressed": False,
        "numerator": None,
        "denominator": None,
        "signal": None,
    }
    assert manifest["revisions"] is None and manifest["changes"] is None and manifest["previous_pack"] is None

    # The previous quarter's pack published 90% for 2026/27 Q2's figure (as if later restated).
    previous = json.loads(json.dumps(record))
    previous.update(quarter="2026/27 Q1", quarter_id="2026-27-Q1")
    next(k for k in previous["kpis"] if k["kpi"] == "deliverables_on_track_pct")["history"][-1]["value"] = 90.0
    given = tmp_path / "elsewhere" / "previous"
    given.mkdir(parents=True)
    (given / "manifest.json").write_text(json.dumps({"kpis": previous}))
    params = resolve(
        {"quarter": "2026/27 Q2", "data_dir": str(project.data), "previous_pack": str(given)}, root=project.root
    )
    again = build_pack(params, sections=[ENGAGEMENT, DELIVERABLES], jobs=2, built_at=BUILT_AT, pdf=False)
    assert again.exit_code == 0 and not again.up_to_date, again.message
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["previous_pack"]["quarter"] == "2026/27 Q1"
    assert manifest["changes"] == []  # same ratings, signals and statuses
    assert manifest["revisions"] == [
        {
            "kpi": "deliverables_on_track_pct",
            "label": shown["label"],
            "unit": "percent",
            "quarter": "2026-27-Q2",
            "old": 90.0,
            "new": 100.0,
            "change": 10.0,
        }
    ]
    # Found in the publish folder without --previous; a record of another format stops the build.
    published = project.root / "reports" / "QWU" / "2026-27-Q1"
    shutil.copytree(given, published)
    found = project.build(pdf=False)
    assert (
        found.exit_code == 0 and json.loads((pack / "manifest.json").read_text())["revisions"] == manifest["revisions"]
    )
    (published / "manifest.json").write_text(json.dumps({"kpis": {**previous, "format": 0}}))
    refused = project.build(pdf=False)
    assert refused.exit_code == 2 and "2026-27-Q1/manifest.json: record format 0" in refused.message


def test_unchanged_rebuild_starts_no_kernel(project):
    runs = len(project.runs())
    again = project.build()
    assert again.exit_code == 0 and again.up_to_date
    assert again.cache_hits == ["60_engagement", "70_deliverables"]
    assert len(project.runs()) == runs
    assert [s.content_hash for s in again.sections] == [s.content_hash for s in project.cold.sections]


def test_changed_input_reruns_exactly_the_sections_reading_it(tmp_path):
    project = _built(tmp_path / "changed")
    previous = project.root / "reports" / "QWU" / "2026-27-Q2"
    previous_version = previous.resolve()
    before = _files(previous_version)
    runs = len(project.runs())
    with (project.data / "deliverables.csv").open("a") as handle:
        handle.write("QWU,D2,Train staff,Workforce lead,2026-27-Q3,2026-27-Q2,at_risk\n")
    result = project.build()
    assert result.exit_code == 0, result.message
    assert {s.id: s.status for s in result.sections} == {"60_engagement": "cached", "70_deliverables": "executed"}
    assert project.runs()[runs:] == ["deliverables"]
    assert previous.resolve() != previous_version and _files(previous_version) == before  # old version kept
    changed = {s.id: s.content_hash for s in result.sections}
    first = {s.id: s.content_hash for s in project.cold.sections}
    assert changed["60_engagement"] == first["60_engagement"]
    assert changed["70_deliverables"] != first["70_deliverables"]


def test_forced_rebuild_reproduces_the_same_bytes(project):
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    html = (pack / "board_pack.html").read_bytes()
    xlsx = (pack / "appendix" / "tables.xlsx").read_bytes()
    runs = len(project.runs())
    forced = project.build(force=True, pdf=True)
    assert forced.exit_code == 0, forced.message
    assert len(project.runs()) == runs + 2
    assert (pack / "board_pack.html").read_bytes() == html
    assert (pack / "appendix" / "tables.xlsx").read_bytes() == xlsx


def test_failing_section_exits_3_and_leaves_the_pack_byte_identical(project):
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    target, before = pack.resolve(), _files(pack)
    result = project.build(sections=(ENGAGEMENT, DELIVERABLES, RAISES))
    assert result.exit_code == 3
    assert "section 80_raises failed at cell" in result.message
    assert "ValueError: section made to fail" in result.message and "raise ValueError" in result.message
    kept = project.root / ".cache" / "failed" / "QWU" / "2026-27-Q2" / "80_raises.ipynb"
    assert kept.is_file() and str(kept) in result.message
    assert pack.resolve() == target and _files(pack) == before
    assert not any((project.root / "reports" / "QWU" / ".staging").iterdir())


def test_invalid_data_exits_2_before_any_kernel(project):
    bad = project.root / "bad"  # next to the good data, so a kernel run would show in the same log
    bad.mkdir()
    (bad / "engagement.csv").write_text("IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q2,events,n/a\n")
    (bad / "deliverables.csv").write_text((project.data / "deliverables.csv").read_text())
    runs = len(project.runs())
    result = project.build(data=bad)
    assert result.exit_code == 2
    assert "engagement" in result.message and "Value" in result.message
    assert len(project.runs()) == runs


def test_data_warnings_reach_the_result_and_the_manifest_also_when_remembered(tmp_path):
    project = Project(tmp_path / "warned")
    (project.data / "engagement.csv").write_text(
        'IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q1,events,12\nQWU,2026-27-Q2,events,"1,234"\n'
    )
    first = project.build(sections=[ENGAGEMENT])
    assert first.exit_code == 0, first.message
    assert len(first.data_warnings) == 1
    assert "engagement.csv" in first.data_warnings[0] and "row 3" in first.data_warnings[0]
    assert "thousands separator" in first.data_warnings[0]
    manifest = (first.version_dir / "manifest.json").read_text()
    assert "thousands separator" in manifest
    again = project.build(sections=[ENGAGEMENT])  # validation remembered: the warning is not lost
    assert again.up_to_date and again.data_warnings == first.data_warnings


HANGS = Section("90_hangs", "Hangs", FIXTURES / "hangs.ipynb", ("engagement",))


def test_whole_run_limit_fails_the_build(project):
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    before = _files(pack)
    params = resolve({"quarter": "2026/27 Q2", "data_dir": str(project.data), "run_timeout": "4"}, root=project.root)
    result = build_pack(params, sections=[HANGS], jobs=1, built_at=BUILT_AT)
    assert result.exit_code == 3
    assert "section 90_hangs failed" in result.message and "timed out" in result.message
    assert _files(pack) == before


def test_locked_pack_exits_4_without_running(project):
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    target, before = pack.resolve(), _files(pack)
    runs = len(project.runs())
    params = project.params()
    with publish.pack_lock(params.cache_dir / "locks", "QWU", "2026-27-Q2"):
        result = project.build(force=True)
    assert result.exit_code == 4 and "another build of this pack is running" in result.message
    assert len(project.runs()) == runs
    assert pack.resolve() == target and _files(pack) == before


# -- issue 5, cases 10 and 12 at build level: whatever way a section fails, or the publish folder
#    cannot take the pack, the build exits non-zero with a clear message and publishes nothing.
SYS_EXIT = Section("80_sys_exit", "Calls sys.exit(0)", FIXTURES / "sys_exit.ipynb", ("engagement",))
DIES = Section("80_dies", "Kills its kernel", FIXTURES / "dies.ipynb", ("engagement",))


def _published(project) -> tuple[Path, dict[str, str], list[str]]:
    pack = project.root / "reports" / "QWU" / "2026-27-Q2"
    versions = sorted(p.name for p in (project.root / "reports" / "QWU" / ".versions" / "2026-27-Q2").iterdir())
    return pack.resolve(), _files(pack), versions


@pytest.mark.parametrize(
    ("section", "cell_timeout", "source", "error"),
    [
        (RAISES, 900, 'raise ValueError("section made to fail")', "ValueError: section made to fail"),
        (SYS_EXIT, 900, "sys.exit(0)", "SystemExit: 0"),
        (DIES, 900, "os._exit(1)", "the kernel died"),
        (HANGS, 20, "time.sleep(120)", "timed out after 20 s in one cell"),
    ],
    ids=["raises", "sys.exit(0)", "os._exit", "hangs past the cell timeout"],
)
def test_a_failing_section_exits_3_names_section_and_cell_and_publishes_nothing(
    project, section, cell_timeout, source, error
):
    before = _published(project)
    params = resolve(
        {"quarter": "2026/27 Q2", "data_dir": str(project.data), "execution_timeout": str(cell_timeout)},
        root=project.root,
    )
    result = build_pack(params, sections=[ENGAGEMENT, DELIVERABLES, section], jobs=2, built_at=BUILT_AT)
    assert result.exit_code == 3, result.message
    assert f"section {section.id} failed at cell " in result.message
    assert f"cell source: {source.split(chr(10))[-1]}" in result.message or source in result.message
    assert error in result.message
    assert "Nothing was published; the previous pack is unchanged." in result.message
    assert {s.id: s.status for s in result.sections}[section.id] == "failed"
    assert _published(project) == before  # same version, same bytes, no new version
    assert not any((project.root / "reports" / "QWU" / ".staging").iterdir())


class _DiskFullAtTheSwitch:
    """publish.py's view of ``os``: the final atomic switch fails with ENOSPC (simulated, as the issue asks)."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def replace(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))


def test_disk_full_at_the_final_step_exits_1_and_leaves_the_pack_byte_identical(project, monkeypatch):
    before = _published(project)
    monkeypatch.setattr(publish, "os", _DiskFullAtTheSwitch())
    result = project.build(force=True)
    assert result.exit_code == 1, result.message
    assert "No space left on device" in result.message and "the previous pack is unchanged" in result.message
    monkeypatch.undo()
    assert _published(project) == before  # same version, same bytes, no version that was never the pack
    assert not [
        p.name for p in (project.root / "reports" / "QWU").iterdir() if p.name.startswith(".2026")
    ]  # no stray link
    assert not any((project.root / "reports" / "QWU" / ".staging").iterdir())


@contextlib.contextmanager
def _read_only(folder: Path):
    """Make ``folder`` really read-only: chmod, and for root (whom chmod does not stop) the immutable
    flag; where neither holds (root without CAP_LINUX_IMMUTABLE) a file takes the folder's place."""
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    immutable = replaced = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            folder.chmod(mode)
            folder.rmdir()
            folder.write_text("not a folder")
            replaced = True
    try:
        with contextlib.suppress(OSError):
            (folder / "probe").write_text("x")
        assert not (folder / "probe").exists(), "the folder is still writable"
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        if replaced:
            folder.unlink()
            folder.mkdir()
        folder.chmod(mode)


def test_read_only_publish_folder_exits_1_with_a_clear_error_and_publishes_nothing(project):
    before = _published(project)
    staging = project.root / "reports" / "QWU" / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    with _read_only(staging):
        result = project.build(force=True)
    assert result.exit_code == 1, result.message
    assert f"cannot write to the publish folder {staging}" in result.message
    assert "the previous pack is unchanged" in result.message
    assert _published(project) == before


# -- `boardpack build --out` outside the project, through the command line -------------------------
def _boardpack_build(root: Path, cwd: Path, out: str, mask: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, BOARDPACK_ROOT=str(root), COLUMNS="200")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "boardpack",
            "build",
            "--quarter",
            "2026/27 Q2",
            "--icb",
            "QWU",
            "--sections",
            "60_engagement",
            "--no-pdf",
            "--out",
            out,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.umask(mask),
    )


def _modes(folder: Path) -> tuple[set[str], set[str]]:
    """(modes of every folder, modes of every file) under ``folder``, as octal text; links skipped."""
    entries = [p for p in folder.rglob("*") if not p.is_symlink()]
    return (
        {oct(p.stat().st_mode & 0o777) for p in entries if p.is_dir()},
        {oct(p.stat().st_mode & 0o777) for p in entries if p.is_file()},
    )


@pytest.mark.integration
def test_build_command_publishes_to_any_folder_named_with_out_and_follows_the_umask(tmp_path_factory):
    root = tmp_path_factory.mktemp("project-root")
    for folder in ("notebooks", "params"):
        shutil.copytree(paths.PROJ_ROOT / folder, root / folder)
    shared = tmp_path_factory.mktemp("shared-drive") / "board packs"  # absolute, outside the project

    built = _boardpack_build(root, root, str(shared), 0o027)
    assert built.returncode == 0, built.stdout + built.stderr
    html = shared / "QWU" / "2026-27-Q2" / "board_pack.html"
    assert built.stdout.strip().splitlines()[-1] == str(html) and html.is_file()
    assert (html.parent / "manifest.json").is_file() and (html.parent / "appendix").is_dir()
    assert not (root / "reports").exists()  # nothing published in the project
    assert _modes(shared) == ({"0o750"}, {"0o640"})

    # relative to where the user is, not to the project; the default umask gives 0755/0644
    here = tmp_path_factory.mktemp("analyst-folder")
    built = _boardpack_build(root, here, "packs", 0o022)
    assert built.returncode == 0, built.stdout + built.stderr
    assert built.stdout.strip().splitlines()[-1] == str(here / "packs" / "QWU" / "2026-27-Q2" / "board_pack.html")
    assert _modes(here / "packs") == ({"0o755"}, {"0o644"})


def _engagement_rows(quarters, values) -> str:
    rows = ["IcbCode,Quarter,Measure,Value"]
    for i, quarter in enumerate(quarters):
        rows.append(f"QWU,{quarter.id},ppie_activities,{values.get(quarter.id, 10 + i % 3)}")
        rows.append(f"QWU,{quarter.id},bpor_registrations,{300 + 5 * (i % 4)}")
    return "\n".join(rows) + "\n"


def test_a_restated_point_is_marked_on_its_chart_only(tmp_path):
    """Q1's pack published 10 PPIE activities for 2026/27 Q1; the Q2 data say 14 (a late upload):
    the Q2 pack's PPIE chart rings 2026/27 Q1 and says so, the registrations chart does not."""
    import json

    from boardpack.sections import SECTIONS
    from helpers.quarters import quarter_range

    engagement = next(s for s in SECTIONS if s.id == "60_engagement")
    root = tmp_path / "project"
    q1, q2 = root / "q1", root / "q2"
    q1.mkdir(parents=True)
    q2.mkdir()
    (q1 / "engagement.csv").write_text(_engagement_rows(quarter_range("2022/23 Q1", "2026/27 Q1"), {"2026-27-Q1": 10}))
    (q2 / "engagement.csv").write_text(_engagement_rows(quarter_range("2022/23 Q1", "2026/27 Q2"), {"2026-27-Q1": 14}))

    def build(quarter: str, data: Path):
        params = resolve({"quarter": quarter, "data_dir": str(data)}, root=root)
        result = build_pack(params, sections=[engagement], jobs=1, built_at=BUILT_AT, pdf=False)
        assert result.exit_code == 0, result.message
        return result

    first = build("2026/27 Q1", q1)
    assert "Restated since the last pack" not in first.html.read_text()
    second = build("2026/27 Q2", q2)
    manifest = json.loads((second.html.parent / "manifest.json").read_text())
    assert [(r["kpi"], r["quarter"], r["old"], r["new"]) for r in manifest["revisions"]] == [
        ("ppie_activities", "2026-27-Q1", 10, 14)
    ]
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(second.html.read_text(), "html.parser")
    alts = [img.get("alt", "") for img in soup.find_all("img")]
    ppie = [a for a in alts if a.startswith("Statistical process control chart of PPIE activities")]
    bpor = [a for a in alts if a.startswith("Statistical process control chart of Registrations")]
    assert len(ppie) == 1 and len(bpor) == 1, alts
    assert ppie[0].endswith(" 2026/27 Q1 restated since the last pack.")
    assert "restated" not in bpor[0]
    assert sum("restated since the last pack" in a for a in alts) == 1
    # Unchanged: up to date. A new previous pack (Q1 rebuilt from data that agree with Q2's)
    # renames the section's store, so the section runs again and marks nothing.
    assert build("2026/27 Q2", q2).up_to_date
    (q1 / "engagement.csv").write_text(_engagement_rows(quarter_range("2022/23 Q1", "2026/27 Q1"), {"2026-27-Q1": 14}))
    build("2026/27 Q1", q1)
    third = build("2026/27 Q2", q2)
    assert third.executed == ["60_engagement"]
    assert json.loads((third.html.parent / "manifest.json").read_text())["revisions"] == []
    assert "restated since the last pack" not in third.html.read_text()
