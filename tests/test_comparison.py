"""helpers.comparison: a pack's comparable KPIs placed among their peers, from its own data and a
benchmarks table; the appendix frame with disclosure; the performance grid."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import comparison, population
from helpers.benchmarks import peer_inputs
from helpers.comparison import APPENDIX_COLUMNS, compare_kpis, grid_entries, grid_frame, variation_group
from helpers.funnel import funnel
from helpers.kpis import COMPARABLE
from helpers.loading import load_data
from helpers.peers import peer_figures
from sampledata.generate import generate, write

QUARTER = "2026/27 Q2"
ICBS = ["QWU", "QHL", "QUA", "QOX", "QMJ"]  # QWU, QHL, QUA: Midlands


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national")
    write(generate(to=QUARTER, scale="national", icbs=ICBS), folder, "parquet")
    data = load_data(folder, QUARTER)
    data.benchmarks = peer_inputs(data, QUARTER)
    return data


@pytest.fixture(scope="module")
def compared(national):
    return compare_kpis(national, QUARTER, "QWU")


def test_no_benchmarks_table_means_no_comparison(national):
    national_without = type(national)(**{**national.__dict__, "benchmarks": None})
    assert compare_kpis(national_without, QUARTER, "QWU") == {}


def test_every_comparable_kpi_is_placed_with_the_peer_figures_of_its_counts(national, compared):
    assert list(compared) == list(COMPARABLE)
    for kpi_id, found in compared.items():
        kpi = COMPARABLE[kpi_id]
        rows = national.benchmarks[national.benchmarks["Kpi"] == kpi_id][["IcbCode", "Numerator", "Denominator"]]
        expected = peer_figures(rows, "QWU", kpi.direction, multiplier=kpi.comparable.multiplier)
        assert found.figures.value == pytest.approx(expected.value)
        assert found.figures.england == pytest.approx(
            rows["Numerator"].sum() / rows["Denominator"].sum() * kpi.comparable.multiplier
        )
        assert (found.figures.rank, found.figures.of, found.figures.quartile) == (
            expected.rank,
            len(ICBS),
            expected.quartile,
        )
        assert found.figures.region.name == "Midlands"
        limits = funnel(expected.table[["IcbCode", "Numerator", "Denominator"]], multiplier=kpi.comparable.multiplier)
        assert found.funnel.target == pytest.approx(limits.target) and found.funnel.tau2 == pytest.approx(limits.tau2)
        assert found.position in comparison.POSITION_WORDS


def test_the_own_icb_comes_from_its_own_data_not_the_benchmarks_row(national):
    tampered = national.benchmarks.copy()
    own = (tampered["IcbCode"] == "QWU") & (tampered["Kpi"] == "commercial_pct_open_studies")
    tampered.loc[own, "Numerator"] = 0
    data = type(national)(**{**national.__dict__, "benchmarks": tampered})
    found = compare_kpis(data, QUARTER, "QWU")["commercial_pct_open_studies"]
    truth = COMPARABLE["commercial_pct_open_studies"].comparable.counts(national, QUARTER, "QWU").iloc[-1]
    assert found.figures.numerator == truth["Numerator"] > 0


def test_own_counts_from_the_peer_data_of_the_folder_cut_equal_the_computed_ones(tmp_path_factory):
    """An extract of a validated many-ICB folder carries the peer data its cut computed from the
    same rows: its own row there gives every ICB the same placing as its counts computed from its
    extract (the KPI stage of such a pack reads it instead of computing them), on the peer-count
    edge cases (a suppressed count, a short history, no StudyDesign: KPIs left out alike)."""
    from test_peer_counts import ICBS as EDGE_ICBS, QUARTER as EDGE_QUARTER, _edited

    from helpers.extract import icb_tables

    folder = tmp_path_factory.mktemp("edge")
    write(_edited(generate(to=EDGE_QUARTER, scale="national", icbs=EDGE_ICBS)), folder, "parquet")
    whole = load_data(folder, EDGE_QUARTER)
    benchmarks = peer_inputs(whole, EDGE_QUARTER)
    placed = {}
    for icb in EDGE_ICBS:
        extract = type(whole)(**{**icb_tables(whole, icb), "benchmarks": benchmarks})
        computed = compare_kpis(extract, EDGE_QUARTER, icb)
        read = compare_kpis(extract, EDGE_QUARTER, icb, own_from_peer_data=True)
        assert list(read) == list(computed), icb
        placed[icb] = len(read)
        for kpi, found in read.items():
            pd.testing.assert_frame_equal(found.figures.table, computed[kpi].figures.table, obj=f"{icb} {kpi}")
            pd.testing.assert_frame_equal(found.funnel.units, computed[kpi].funnel.units, obj=f"{icb} {kpi}")
            pd.testing.assert_frame_equal(found.appendix(), computed[kpi].appendix(), obj=f"{icb} {kpi}")
    assert min(placed.values()) < len(COMPARABLE) == max(placed.values()), placed  # some left out, alike


def test_region_and_listed_peer_groups(national):
    region = compare_kpis(national, QUARTER, "QWU", peers="region")["core20_pct"]
    assert sorted(region.figures.table["IcbCode"]) == ["QHL", "QUA", "QWU"] and region.figures.peers == "Midlands"
    assert len(region.funnel.units) == 3
    listed = compare_kpis(national, QUARTER, "QWU", peers=["qmj"])["core20_pct"]
    assert sorted(listed.figures.table["IcbCode"]) == ["QMJ", "QWU"]
    with pytest.raises(ValueError, match="QE1"):  # a real ICB with no rows in the benchmarks table
        compare_kpis(national, QUARTER, "QWU", peers=["QE1"])
    with pytest.raises(population.UnknownIcbError, match="XXX"):
        compare_kpis(national, QUARTER, "QWU", peers=["XXX"])
    with pytest.raises(ValueError, match="peers must be"):
        compare_kpis(national, QUARTER, "QWU", peers="national")


def test_appendix_has_the_contract_columns_best_first(compared):
    for found in compared.values():
        frame = found.appendix()
        assert tuple(frame.columns) == APPENDIX_COLUMNS
        assert list(frame["Rank"]) == sorted(frame["Rank"]) and frame["Rank"].iloc[0] == 1
        assert set(frame["IcbCode"]) == set(ICBS)
        assert frame.loc[frame["IcbCode"] == "QWU", "Region"].item() == "Midlands"


def test_appendix_discloses_counts_of_people(national):
    small = national.benchmarks.copy()
    core20 = (small["IcbCode"] == "QMJ") & (small["Kpi"] == "core20_pct")
    small.loc[core20, "Numerator"] = 3  # 3 people from Core20 areas: suppressed, and so is the share
    small.loc[core20, "Denominator"] = 1234
    data = type(national)(**{**national.__dict__, "benchmarks": small})
    found = compare_kpis(data, QUARTER, "QWU")
    core = found["core20_pct"].appendix().set_index("IcbCode")
    assert core.at["QMJ", "Numerator"] == "*" and core.at["QMJ", "Value"] == "*"
    assert core.at["QMJ", "Denominator"] == 1235  # rounded to 5
    assert all(v == "*" or v % 5 == 0 for v in core["Numerator"])
    # Studies are not people: shown exactly.
    shares = found["commercial_pct_open_studies"].appendix()
    raw = found["commercial_pct_open_studies"].figures.table
    assert list(shares["Numerator"]) == list(raw["Numerator"])


def test_sentence_states_value_england_region_rank_and_funnel_position(compared):
    found = compared["participants_per_10k"]
    f = found.figures
    sentence = found.sentence()
    assert sentence.startswith(f"{found.label}, {QUARTER}: QWU ")
    assert "England" in sentence and "Midlands" in sentence
    assert f"Rank {f.rank} of {len(ICBS)} ({comparison.QUARTILE_WORDS[f.quartile]})" in sentence
    assert comparison.POSITION_WORDS[found.position] in sentence


@pytest.mark.parametrize(
    ("variation", "column"),
    [
        ("improvement_high", "improvement"),
        ("improvement_low", "improvement"),
        ("concern_low", "concern"),
        ("neutral_high", "neutral"),
        ("common_cause", "common_cause"),
        (None, "none"),
        ("", "none"),
    ],
)
def test_variation_group(variation, column):
    assert variation_group(variation) == column


def test_the_grid_places_each_kpi_by_variation_and_quartile(compared):
    scorecard = pd.DataFrame(
        {
            "Kpi": list(compared),
            "Variation": ["concern_low", None, "improvement_high", "common_cause", "common_cause"],
        }
    )
    entries = grid_entries(scorecard, compared)
    assert [e.kpi for e in entries] == list(compared)
    grid = grid_frame(entries).set_index("Peer quartile")
    assert list(grid.index) == ["Top quartile", "Second quartile", "Third quartile", "Bottom quartile"]
    assert list(grid.columns) == list(comparison.GRID_COLUMNS.values())
    for entry in entries:
        cell = grid.at[comparison.GRID_ROWS[entry.quartile], comparison.GRID_COLUMNS[entry.column]]
        assert entry.label in cell.split("; ")
    placed = sum(len(c.split("; ")) for c in grid.to_numpy().ravel() if c != "–")
    assert placed == len(entries)
    first = entries[0]
    assert first.words() == (
        f"{first.label}: special cause concern; {comparison.QUARTILE_WORDS[first.quartile]} of England "
        f"(rank {first.rank} of {len(ICBS)})."
    )
