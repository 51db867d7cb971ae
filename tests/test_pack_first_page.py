"""The board's first page end to end (issue 16's "done when"): the sample 2026/27 Q1 pack, then the
2026/27 Q2 pack published beside it, through the real command line. The Q2 summary lists what
changed since the Q1 pack and every figure the Q2 data restate (the sample data's late uploads,
src/sampledata/cutoff.py), with old and new values; the PDF puts the cover on page 1 and the
changes, the exceptions and the whole scorecard on page 2.
"""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from conftest import new_project, run_boardpack
from pypdf import PdfReader

from helpers.narrative import format_value
from helpers.quarters import parse

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> dict:
    root = new_project(tmp_path_factory, "first-page")
    out = root / "out"
    for quarter, pdf in (("2026/27 Q1", "--no-pdf"), ("2026/27 Q2", "")):
        args = ["build", "--icb", "QWU", "--quarter", quarter, "--out", str(out), "--sections", "00_summary"]
        done = run_boardpack(root, *args, *([pdf] if pdf else []))
        assert done.returncode == 0, done.stdout + done.stderr
    pack = out / "QWU" / "2026-27-Q2"
    return {
        "manifest": json.loads((pack / "manifest.json").read_text(encoding="utf-8")),
        "soup": BeautifulSoup((pack / "board_pack.html").read_text(encoding="utf-8"), "html.parser"),
        "pdf": PdfReader(pack / "board_pack.pdf"),
    }


def _section_text(soup, heading: str) -> str:
    """The text from an h3 to the next h3."""
    start = soup.find(lambda tag: tag.name == "h3" and tag.get_text(strip=True) == heading)
    assert start is not None, heading
    parts = []
    for sibling in start.find_all_next():
        if sibling.name == "h3":
            break
        parts.append(sibling.get_text(" ", strip=True))
    return " ".join(parts)


def test_the_summary_says_what_changed_since_the_last_pack_exception_first(packs):
    manifest = packs["manifest"]
    assert manifest["previous_pack"]["quarter"] == "2026/27 Q1"
    shown = _section_text(packs["soup"], "Changes since the last pack")
    assert shown.startswith(f"{len(manifest['changes'])} change")
    positions = [shown.index(change["sentence"]) for change in manifest["changes"]]
    assert positions == sorted(positions)  # the manifest lists them exception first, as shown


def test_revisions_to_earlier_figures_show_old_and_new_values(packs):
    revisions = packs["manifest"]["revisions"]
    assert 0 < len(revisions) <= 12  # the sample's late uploads restate a few figures, not hundreds
    assert {r["quarter"] for r in revisions} == {"2026-27-Q1"}
    table = packs["soup"].find("caption", string="Figures restated since the 2026/27 Q1 pack").find_parent("table")
    rows = [[cell.get_text(strip=True) for cell in row.find_all(["th", "td"])] for row in table.tbody.find_all("tr")]
    for revision, row in zip(revisions, rows, strict=True):
        assert row[:4] == [
            revision["label"],
            parse(revision["quarter"]).label,
            format_value(revision["old"], revision["unit"]),
            format_value(revision["new"], revision["unit"]),
        ]


def test_the_pdf_has_the_cover_then_the_first_page_with_changes_exceptions_and_the_whole_scorecard(packs):
    pages = packs["pdf"].pages
    first, second = pages[0].extract_text(), pages[1].extract_text()
    assert "R&I board pack: NHS Coventry and Warwickshire" in first and "Contents" in first
    assert "Changes since the last pack" not in first
    assert float(pages[1].mediabox.width) > float(pages[1].mediabox.height)  # landscape
    for words in ("Changes since the last pack", "Needs the board's attention", "Headline KPIs of the plan"):
        assert words in second, words
    last_kpi = packs["manifest"]["kpis"]["kpis"][-1]["label"]
    assert last_kpi.split(",")[0] in second  # the scorecard's last row is on the same page
    assert second.rstrip().endswith("2")  # page numbers
