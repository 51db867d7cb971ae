"""Commentary stubs (helpers.commentary_stubs, `boardpack commentary`): written once, never overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from boardpack.cli import app
from helpers import commentary_stubs as cs
from helpers.commentary import load_commentary
from helpers.loading import load_data
from helpers.pack_sections import PACK_SECTIONS
from helpers.quarters import BASELINE_PERIOD, parse_range
from helpers.targets import load_targets

QUARTER = "2026/27 Q2"
SECTION_IDS = [s.id for s in PACK_SECTIONS]


@pytest.fixture(scope="module")
def stubs(qwu_sample) -> dict[str, str]:
    data = load_data(qwu_sample, QUARTER)
    baseline = [q.id for q in parse_range(BASELINE_PERIOD)]
    return cs.commentary_stubs(data, QUARTER, "QWU", load_targets(), baseline, "the sample data")


def state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Each file's bytes and modification time (ns)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.glob("*.md"))}


def test_a_stub_for_every_section_with_its_summary_and_figures(stubs):
    assert list(stubs) == SECTION_IDS
    commercial = stubs["30_commercial"]
    assert commercial.startswith("<!--\nDRAFT commentary stub: Commercial research (30_commercial), 2026/27 Q2, QWU.")
    assert "- Commercial contract income, rolling 12 months: £4.02m in 2026/27 Q2, up £18k" in commercial
    assert "off track against the trajectory of £4.95m" in commercial
    assert "- On the trend since 2023/24 Q1 income reaches £" in commercial  # the projection
    assert "| KPI | Latest | On previous quarter | On a year earlier | Target | RAG |" in commercial
    assert "| Commercial contract income, rolling 12 months | £4.02m | up £18k | up £244k | £4.95m | Off track |" in (
        commercial
    )
    assert "Participants per 10,000" not in commercial  # another section's KPI
    # the summary: the overview, then what is behind (exceptions), then every projection
    summary = stubs["00_summary"]
    assert "- 19 headline KPIs for 2026/27 Q2." in summary
    assert "NIHR portfolio participants per 10,000 population, rolling 12 months: 217.5 per 10,000" in summary
    assert "NIHR studies opened in the quarter: 60" not in summary  # on track or no target: in the table only
    assert "| NIHR studies opened in the quarter | 60 |" in summary
    assert "(this section shows no headline KPI)" in stubs["80_definitions"]


def test_an_untouched_stub_is_valid_commentary_that_shows_nothing(stubs, tmp_path):
    done = cs.write_stubs(tmp_path, QUARTER, stubs)
    assert [p.name for p in done.written] == [f"{s}.md" for s in SECTION_IDS] and done.kept == ()
    for section_id in SECTION_IDS:
        assert load_commentary(tmp_path, QUARTER, section_id) is None  # only notes: no commentary shown
    # the analyst writes after the notes: only that is shown
    path = tmp_path / "2026-27-Q2" / "30_commercial.md"
    path.write_text(path.read_text(encoding="utf-8") + "Income is **behind** the trajectory.\n", encoding="utf-8")
    shown = load_commentary(tmp_path, QUARTER, "30_commercial")
    assert shown.html == "<p>Income is <strong>behind</strong> the trajectory.</p>\n"
    assert "DRAFT" not in shown.html and "£4.02m" not in shown.html


def test_a_second_run_overwrites_nothing_and_keeps_an_analysts_file(stubs, tmp_path):
    folder = tmp_path / "2026-27-Q2"
    folder.mkdir()
    mine = folder / "10_research_activity.md"
    mine.write_bytes(b"Analyst's own words.\n")
    first = cs.write_stubs(tmp_path, QUARTER, stubs)
    assert mine in first.kept and mine not in first.written
    assert mine.read_bytes() == b"Analyst's own words.\n"
    assert len(first.written) == len(SECTION_IDS) - 1
    before = state(folder)
    second = cs.write_stubs(tmp_path, QUARTER, stubs)
    assert second.written == () and len(second.kept) == len(SECTION_IDS)
    assert state(folder) == before  # bytes and mtimes unchanged


def test_stub_text_cannot_close_its_notes_early():
    facts = cs.SectionFacts("60_engagement", "Engagement", ("A --> B <!-- C",), pd.DataFrame())
    text = cs.stub_text(facts, QUARTER, "QWU", "a test")
    assert text.count("<!--") == 1 and text.count("-->") == 1
    assert "- A -> B <!- C" in text


def test_cli_writes_stubs_then_keeps_them(qwu_sample, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(qwu_sample, data)
    notes = data / "commentary"  # commentary_dir must be inside the project or the data folder
    args = ["commentary", "--quarter", QUARTER, "--icb", "QWU", "--data", str(data), "-p", f"commentary_dir={notes}"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert f"wrote {notes / '2026-27-Q2' / '00_summary.md'}" in first.output
    assert first.output.strip().endswith("9 stub(s) written, 0 existing file(s) kept.")
    before = state(notes / "2026-27-Q2")
    assert len(before) == 9
    second = CliRunner().invoke(app, [*args, "--sections", "30_commercial,summary"])
    assert second.exit_code == 0, second.output
    assert f"kept {notes / '2026-27-Q2' / '30_commercial.md'} (it exists; not overwritten)" in second.output
    assert second.output.strip().endswith("0 stub(s) written, 2 existing file(s) kept.")
    assert state(notes / "2026-27-Q2") == before


def test_cli_refuses_an_unknown_section(qwu_sample):
    result = CliRunner().invoke(app, ["commentary", "--data", str(qwu_sample), "--sections", "nope"])
    assert result.exit_code == 2
