"""helpers.kpis: the headline KPIs' definitions, how each is charted, and the Definitions table."""

import numpy as np
import pandas as pd
import pytest

from helpers.kpis import CHART_KINDS, KPIS, REGISTRY, SECTION_GROUPS, definitions_table, kpi_spc
from helpers.paths import PARAMS_DIR
from helpers.quarters import parse, quarter_range
from helpers.spc import spc, variation
from helpers.targets import load_targets


def test_every_headline_is_defined_with_a_chart_kind_and_rebase_reasons():
    assert len(KPIS) == len(REGISTRY) == 19  # ids are unique
    for kpi, definition in KPIS.items():
        assert definition.chart in CHART_KINDS and definition.why, kpi
        assert definition.chart == "xmr" or not definition.rebase, kpi  # rebasing only matters to XmR
        assert all(r.reason and parse(r.quarter) for r in definition.rebase), kpi
        assert definition.period and definition.scope and definition.numerator and definition.denominator, kpi
        assert definition.tables and definition.section in SECTION_GROUPS and definition.label, kpi
        assert definition.unit in ("percent", "count", "GBP", "per_10000", "days"), kpi
    # cumulative and stock KPIs are never XmR charts
    assert KPIS["cross_system_studies"].chart == "progress"
    assert {KPIS[k].chart for k in ("joint_appointments", "research_active_staff", "innovations_adopted")} == {"run"}


def test_rebase_takes_the_icons_from_the_current_period():
    """Participants fell in Covid, recovered, then held steady under the plan: over the whole
    history the latest points sit above the mean (special cause improvement); rebased at Covid and
    at the plan's start, the plan period alone is common cause."""
    quarters = [q.id for q in quarter_range("2018/19 Q1", "2026/27 Q2")]
    steady = [500, 520, 480, 510, 490, 505, 515, 495, 500, 510, 490, 505, 498, 502]  # 2023/24 Q1 on
    before = [400, 410, 395, 405, 402, 398, 404, 401, 100, 150, 220, 260, 300, 330, 350, 370, 390, 400, 420, 430]
    series = pd.Series([float(v) for v in before + steady], index=quarters)
    assert quarters[len(before)] == "2023-24-Q1" and quarters[8] == "2020-21-Q1"
    whole = spc(series.to_numpy(), [parse(q).start for q in quarters])
    assert variation(whole) == "improvement_high"
    rebased = kpi_spc("participants", series, "increase")
    assert variation(rebased) == "common_cause"
    assert rebased["group"].tolist() == [0] * 8 + [1] * 12 + [2] * 14  # before Covid, Covid to the plan, the plan
    current = rebased[rebased["group"] == 2]
    assert not current["trial_limits"].any()
    np.testing.assert_allclose(current["mean"].iloc[0], np.mean(steady))


def test_rebase_points_outside_the_series_are_ignored_and_run_kpis_have_no_spc():
    series = pd.Series([10.0, 12, 11, 13], index=["2024-25-Q1", "2024-25-Q2", "2024-25-Q3", "2024-25-Q4"])
    assert kpi_spc("participants", series, "increase")["group"].nunique() == 1
    assert kpi_spc("joint_appointments", series, "increase") is None
    assert kpi_spc("participants", series * np.nan, "increase") is None


def test_definitions_table_has_every_kpi_its_target_and_the_plans_words():
    table = definitions_table(load_targets())
    assert table["KPI"].tolist() == [k.label for k in REGISTRY]
    by_kpi = dict(zip(KPIS, table.to_dict("records"), strict=True))
    studies = by_kpi["studies_open_pct_precovid"]
    assert studies["Target"] == (
        "100.0% by 2023/24 Q4 (linear trajectory from 2022/23 Q2; the plan's starting point 89.0%)"
    )
    assert studies["TargetSource"].startswith("The plan: Increase the number of NIHR Studies currently open")
    assert studies["Rebased"] == "2020/21 Q1 (Covid-19 pause and restart); 2023/24 Q1 (the plan starts)"
    income = by_kpi["commercial_income"]
    assert income["Target"].startswith("2 times the 2022/23 Q4 baseline by 2027/28 Q4")
    assert income["Chart"] == "against trajectory, no icons" and income["Rebased"] == "-"
    assert by_kpi["new_studies"]["Target"] == "no target in the plan"
    cross = by_kpi["cross_system_studies"]
    assert cross["TargetSource"].startswith("The plan: Deliver at least 5 Clinical Research Network (now the RDN)")
    assert by_kpi["participants_per_10k"]["Target"].startswith("240.0 per 10,000 by 2027/28 Q4")
    assert studies["Scope"] == "NIHR portfolio studies" and studies["Chart"] == "XmR, icons"


def test_the_plans_starting_points_are_in_the_registry_and_agree_with_the_targets_file():
    """The plan's August 2022 mapping: 89% of pre-Covid, 210 per 10,000, 11.5% commercial. Where the
    targets file starts a trajectory from a plan figure, it is the same figure at the same quarter."""
    from helpers.kpis import plan_start_marker

    starts = {k.id: (k.plan_start.quarter, k.plan_start.value) for k in REGISTRY if k.plan_start}
    assert starts == {
        "studies_open_pct_precovid": ("2022-23-Q2", 89),
        "participants_per_10k": ("2022-23-Q2", 210),
        "commercial_pct_open_studies": ("2022-23-Q2", 11.5),
    }
    for kpi, target in load_targets().items():
        if target.baseline.value is not None and kpi in starts:
            assert (target.baseline.quarter.id, target.baseline.value) == starts[kpi], kpi
    marker = plan_start_marker("commercial_pct_open_studies")
    assert marker.date == pd.Timestamp("2022-07-01") and marker.value == 11.5  # 2022/23 Q2 starts 1 July 2022
    assert marker.label == "Plan's starting point 11.5 (2022/23 Q2)"
    assert plan_start_marker("new_studies") is None
    table = definitions_table(load_targets()).set_index("KPI")
    assert table.at[KPIS["commercial_pct_open_studies"].label, "PlanStart"] == (
        "11.5% of all trials commercially funded in 2022/23 Q2 (system-wide mapping, August 2022)"
    )


def test_a_working_assumption_says_who_set_it(tmp_path):
    from helpers.targets import TargetsError

    text = (PARAMS_DIR / "targets.yml").read_text()
    assumed = text.replace(
        "    source: Double income from commercial research by 2028.",
        "    source: Double income from commercial research by 2028.\n    basis: working assumption",
    )
    (tmp_path / "targets.yml").write_text(assumed)
    with pytest.raises(TargetsError, match="set_by"):
        load_targets(tmp_path / "targets.yml")
    (tmp_path / "targets.yml").write_text(
        assumed.replace("    basis: working assumption", "    basis: working assumption\n    set_by: ICS R&I board")
    )
    row = (
        definitions_table(load_targets(tmp_path / "targets.yml")).set_index("KPI").loc[KPIS["commercial_income"].label]
    )
    assert (
        row["TargetSource"]
        == "Working assumption set by ICS R&I board: Double income from commercial research by 2028."
    )


# -- comparable KPIs: the counts behind the headline, for peer figures ------------------------------


def test_the_comparable_kpis_are_the_rates_and_shares_the_contract_names():
    from helpers.contract import COMPARABLE_KPIS
    from helpers.kpis import COMPARABLE

    assert (
        tuple(COMPARABLE)
        == COMPARABLE_KPIS
        == (
            "gp_practices_recruiting_pct",
            "participants_per_10k",
            "core20_pct",
            "commercial_pct_open_studies",
            "rtt_pct_on_track",
        )
    )
    for kpi in COMPARABLE.values():
        expected = 10_000 if kpi.unit == "per_10000" else 100
        assert kpi.unit in ("percent", "per_10000") and kpi.comparable.multiplier == expected, kpi.id
        assert kpi.direction in ("increase", "decrease"), kpi.id  # a neutral KPI cannot be ranked


def test_comparable_counts_rejects_a_kpi_that_is_not_comparable():
    from helpers.kpis import comparable_counts

    with pytest.raises(ValueError, match="not comparable.*participants_per_10k"):
        comparable_counts(None, "2026/27 Q2", "QWU", "participants")


@pytest.fixture(scope="module")
def qwu_data(qwu_sample):
    from helpers.loading import load_data

    return load_data(qwu_sample, "2026/27 Q2")


@pytest.mark.parametrize(
    "kpi",
    [
        "gp_practices_recruiting_pct",
        "participants_per_10k",
        "core20_pct",
        "commercial_pct_open_studies",
        "rtt_pct_on_track",
    ],
)
def test_numerator_over_denominator_is_the_headline_value(qwu_data, kpi):
    """On the QWU sample, the last eight quarters: the counts are whole numbers, the numerator is
    within the denominator, and the headline is exactly the counts divided as the headline divides
    them (100 x n / d for a share, n / d x 10,000 for a rate); n / d x multiplier, as the peer
    figures compute it, agrees to the last bit or two of a float."""
    from helpers.kpi_common import share
    from helpers.kpis import comparable_counts

    entry = KPIS[kpi]
    counts = comparable_counts(qwu_data, "2026/27 Q2", "QWU", kpi).tail(8)
    headline = entry.series(qwu_data, "2026/27 Q2", "QWU", baseline_quarters=None, income_baseline_year=None)
    assert list(counts["Quarter"]) == list(headline.index[-8:])
    assert counts[["Numerator", "Denominator"]].notna().all().all()
    numerator, denominator = counts["Numerator"].to_numpy(), counts["Denominator"].to_numpy()
    assert (numerator == np.round(numerator)).all() and (denominator == np.round(denominator)).all()
    assert (numerator <= denominator).all() and (denominator > 0).all()
    values = headline.to_numpy()[-8:]
    exact = numerator / denominator * 10_000 if entry.unit == "per_10000" else share(numerator, denominator)
    np.testing.assert_array_equal(exact, values)
    np.testing.assert_allclose(numerator / denominator * entry.comparable.multiplier, values, rtol=1e-14, atol=0)
