"""National context end to end: real builds of QWU's pack from a many-ICB folder, from QWU's own
extract plus a benchmarks file, and from the own extract alone (issue 15's "done when").

The many-ICB folder is the national sample cut to six ICBs (three in QWU's region, the Midlands),
so the builds stay quick; the 42-ICB pack is in the slow tier (tests/test_batch.py builds every
ICB). Only the sections that compare KPIs are built.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from conftest import new_project, run_boardpack

from helpers.comparison import APPENDIX_COLUMNS, NO_PEER_DATA
from helpers.kpis import COMPARABLE
from sampledata.generate import generate, write

pytestmark = pytest.mark.e2e
QUARTER, QUARTER_ID, ICB = "2026/27 Q2", "2026-27-Q2", "QWU"
ICBS = ["QWU", "QHL", "QUA", "QOX", "QMJ", "QOP"]  # QWU, QHL, QUA: Midlands
SECTIONS = "00_summary,10_research_activity,20_participation_equity,30_commercial"


def _build(root: Path, data: Path, out: Path) -> Path:
    done = run_boardpack(
        root, "build", "--icb", ICB, "--quarter", QUARTER, "--data", str(data), "--out", str(out),
        "--sections", SECTIONS, "--no-pdf",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out / ICB / QUARTER_ID


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> dict:
    root = new_project(tmp_path_factory, "peers")
    national = root / "national"
    write(generate(to=QUARTER, scale="national", icbs=ICBS), national, "parquet")
    from_national = _build(root, national, root / "out-national")

    # QWU's own extract: the rows the national build cut for it, without the peer figures.
    cut = next(p.parent for p in (root / ".cache" / "extracts" / ICB).glob("*/organisations.parquet"))
    own = root / "own"
    shutil.copytree(cut, own)
    (own / "benchmarks.parquet").unlink()
    alone = _build(root, own, root / "out-own")

    with_file = root / "own-with-benchmarks"
    shutil.copytree(own, with_file)
    written = run_boardpack(
        root, "benchmarks", "--data", str(national), "--quarter", QUARTER, "--out", str(with_file / "benchmarks.csv")
    )
    assert written.returncode == 0, written.stdout + written.stderr
    given = _build(root, with_file, root / "out-benchmarks")
    return {"national": from_national, "own": alone, "benchmarks": given}


def test_a_pack_from_a_many_icb_folder_shows_funnels_england_region_ranks_and_the_grid(packs):
    html = (packs["national"] / "board_pack.html").read_text(encoding="utf-8")
    assert NO_PEER_DATA not in html
    funnels = re.findall(r'alt="Funnel plot of ([^"]*)"', html)
    assert len(funnels) == len(COMPARABLE), funnels
    for kpi in COMPARABLE.values():
        sentence = re.search(re.escape(kpi.label) + r", 2026/27 Q2: QWU [^<]*", html)
        assert sentence, kpi.id
        assert "England" in sentence.group(0) and "Midlands" in sentence.group(0)
        assert re.search(r"Rank \d of 6 \((top|second|third|bottom) quartile\)", sentence.group(0))
    assert "Performance grid: variation against quartile among England" in html
    assert html.count('class="bp-grid-icon"') >= 1  # icons beside the words


def test_the_peer_appendix_has_one_file_per_comparable_kpi_with_the_contract_columns(packs):
    appendix = packs["national"] / "appendix"
    for kpi in COMPARABLE.values():
        rows = _csv(appendix / f"peers_{kpi.id}.csv")
        assert list(rows[0]) == list(APPENDIX_COLUMNS)
        assert sorted(r["IcbCode"] for r in rows) == sorted(ICBS)
        assert [int(r["Rank"]) for r in rows] == sorted(int(r["Rank"]) for r in rows)  # best first
        for row in rows:
            assert float(row["Lower998"]) <= float(row["Lower95"]) <= float(row["Upper95"]) <= float(row["Upper998"])
        for column in kpi.comparable.people:  # counts of people: rounded to 5 or suppressed
            assert all(r[column] == "*" or int(r[column]) % 5 == 0 for r in rows), (kpi.id, column)


def test_own_extract_plus_a_benchmarks_file_gives_the_same_figures(packs):
    national, given = packs["national"] / "appendix", packs["benchmarks"] / "appendix"
    for kpi in COMPARABLE:
        assert (given / f"peers_{kpi}.csv").read_bytes() == (national / f"peers_{kpi}.csv").read_bytes(), kpi
    assert (given / "performance_grid.csv").read_bytes() == (national / "performance_grid.csv").read_bytes()


def test_a_pack_without_peer_data_says_so_and_draws_no_funnel(packs):
    html = (packs["own"] / "board_pack.html").read_text(encoding="utf-8")
    assert NO_PEER_DATA in html
    assert "Funnel plot of" not in html and "Performance grid" not in html
    assert not list((packs["own"] / "appendix").glob("peers_*.csv"))


def test_the_pack_with_funnels_and_the_grid_has_no_accessibility_violations(packs, tmp_path):
    from boardpack.check import format_violations, run_axe

    report = run_axe(packs["national"] / "board_pack.html", tmp_path / "axe.json")
    assert report["violations"] == [], format_violations(report)


@pytest.mark.slow
def test_the_national_sample_pack_of_qwu_places_it_among_the_42_icbs(tmp_path_factory, tmp_path):
    from boardpack.check import format_violations, run_axe

    root = new_project(tmp_path_factory, "peers-national")
    national = root / "national"
    write(generate(to=QUARTER, scale="national"), national, "parquet")
    pack = _build(root, national, root / "out")
    html = (pack / "board_pack.html").read_text(encoding="utf-8")
    assert len(re.findall(r"Rank \d+ of 42 \(", html)) == len(COMPARABLE)
    assert len(re.findall(r'alt="Funnel plot of [^"]* for 42 ICBs \(England\)', html)) == len(COMPARABLE)
    assert "Performance grid: variation against quartile among England" in html
    for kpi in COMPARABLE:
        rows = _csv(pack / "appendix" / f"peers_{kpi}.csv")
        assert len(rows) == 42 and len({r["Region"] for r in rows}) == 7
    report = run_axe(pack / "board_pack.html", tmp_path / "axe.json")
    assert report["violations"] == [], format_violations(report)
