"""helpers.scorecard: headline KPIs with changes, target trajectory, RAG and SPC icons."""

import numpy as np
import pandas as pd
import pytest
from backtest.frames import make_data, study

from helpers.kpis import KPIS, REGISTRY
from helpers.quarters import parse
from helpers.scorecard import COLUMNS, build_scorecard
from helpers.spc import ASSURANCES, VARIATIONS
from helpers.targets import load_targets


def rec(month, n, study_id="a"):
    return {"StudyId": study_id, "OrganisationCode": "RKB", "Month": month, "Participants": n}


@pytest.fixture(scope="module")
def data():
    # Two studies open since 2019/20 Q1 (the baseline), a third from 2021/22 Q1: 150% of baseline after.
    months = [f"{y}-{m:02d}-01" for y in range(2019, 2024) for m in range(1, 13)]
    months = [m for m in months if "2019-04-01" <= m <= "2023-06-01"]
    return make_data(
        studies=[study("a", "2019-04-01"), study("b", "2019-04-01"), study("c", "2021-04-01", cross=True)],
        recruitment=[rec(m, 40 + (i % 3)) for i, m in enumerate(months)],
    )


def test_one_row_per_loaded_headline_with_the_documented_columns(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", load_targets())
    assert list(card.columns) == COLUMNS
    # Only studies and recruitment are loaded: KPIs needing other tables are left out.
    assert set(card["Kpi"]) == {
        "studies_open_pct_precovid",
        "new_studies",
        "recruiting_organisations",
        "gp_practices_recruiting_pct",
        "participants",
        "participants_per_10k",
        "commercial_pct_open_studies",
        "commercial_participants",
        "setup_median_days",
        "rtt_pct_on_track",
        "cross_system_studies",
    }
    assert len(REGISTRY) > len(card)


def test_target_trajectory_and_rag_at_the_quarter(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", load_targets()).set_index("Kpi")
    # 89% at 2022/23 Q2 rising to 100% at 2023/24 Q4: 3 of 6 quarters along at 2023/24 Q1.
    assert card.at["studies_open_pct_precovid", "Target"] == pytest.approx(94.5)
    assert card.at["studies_open_pct_precovid", "Value"] == 150.0
    assert card.at["studies_open_pct_precovid", "Rag"] == "green"
    # Cross-system: 0 at 2022/23 Q4 to 5 by 2025/26 Q4 (12 quarters): 5/12 at 2023/24 Q1. Study c
    # opened in 2021/22 Q1, before the count starts (2023/24 Q1), so 0 studies count -> red.
    assert card.at["cross_system_studies", "Target"] == pytest.approx(5 / 12)
    assert card.at["cross_system_studies", "Value"] == 0
    assert card.at["cross_system_studies", "Rag"] == "red"
    assert (
        card.at["cross_system_studies", "Label"] == "Cross-system portfolio studies opened since 2023/24 Q1, cumulative"
    )
    # About 490 participants a year in 963,204 people (mid-2022) is far below 210 per 10,000: red.
    assert card.at["participants_per_10k", "Rag"] == "red"
    assert card.at["new_studies", "Target"] != card.at["new_studies", "Target"]  # no target: NaN
    assert pd.isna(card.at["new_studies", "Rag"])


def test_changes_on_previous_quarter_and_last_year(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", None).set_index("Kpi")
    row = card.loc["studies_open_pct_precovid"]
    assert row["PreviousQuarterValue"] == 150.0 and row["ChangeOnPreviousQuarter"] == 0.0
    assert row["SameQuarterLastYearValue"] == 150.0
    assert card["Target"].isna().all() and card["Rag"].isna().all()  # no targets given


def test_people_counts_are_disclosed_and_changes_use_the_published_figures(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", None).set_index("Kpi")
    participants = card.loc["participants"]
    assert participants["Disclosed"]
    assert participants["Value"] % 5 == 0 and participants["PreviousQuarterValue"] % 5 == 0
    assert participants["ChangeOnPreviousQuarter"] == participants["Value"] - participants["PreviousQuarterValue"]
    commercial = card.loc["commercial_participants"]
    assert commercial["Value"] == 0  # no commercial study: 0 is shown, not suppressed


def test_spc_icons_and_trial_limits(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", load_targets()).set_index("Kpi")
    assert set(card["Variation"].dropna()) <= set(VARIATIONS)
    assert set(card["Assurance"].dropna()) <= set(ASSURANCES)
    # 17 quarters of participants, rebased at the plan's start (2023/24 Q1): one point in the
    # current period, so trial limits, and the icons come from that period alone.
    assert card.at["participants", "Points"] == 17 and card.at["participants", "TrialLimits"]
    assert card.at["participants", "SpcFrom"] == "2023-24-Q1" and card.at["participants", "Chart"] == "xmr"
    assert pd.isna(card.at["new_studies", "Assurance"])  # no target, no assurance


def test_a_single_step_in_the_current_period_is_never_special_cause(data):
    """Open studies at 100% of baseline for 2020/21, then 150% from 2021/22 Q1: the period from
    the Covid rebase to 2022/23 Q4 has one non-zero moving range, which screening drops. Too little
    variation for XmR: common cause (whole-history XmR called this special cause improvement)."""
    card = build_scorecard(data, "2022-23-Q4", "QWU", load_targets()).set_index("Kpi")
    assert card.at["studies_open_pct_precovid", "SpcFrom"] == "2020-21-Q1"
    assert card.at["studies_open_pct_precovid", "Variation"] == "common_cause"


def test_cumulative_and_stock_kpis_get_no_spc_icons(data):
    card = build_scorecard(data, "2023-24-Q1", "QWU", load_targets()).set_index("Kpi")
    for kpi in ("cross_system_studies", "participants_per_10k", "gp_practices_recruiting_pct"):
        assert card.at[kpi, "Chart"] in ("run", "progress"), kpi
        assert pd.isna(card.at[kpi, "Variation"]) and pd.isna(card.at[kpi, "Assurance"]), kpi
        assert pd.isna(card.at[kpi, "SpcFrom"]) and not card.at[kpi, "TrialLimits"], kpi
    # ...while a cumulative count with a target is still rated against it
    assert card.at["cross_system_studies", "Chart"] == "progress"


def test_scorecard_icons_are_those_of_the_kpis_spc_frame(data):
    from helpers.kpis import kpi_spc
    from helpers.spc import assurance, variation

    card = build_scorecard(data, "2023-24-Q1", "QWU", load_targets()).set_index("Kpi")
    series = KPIS["participants"].series(
        data, parse("2023-24-Q1"), "QWU", baseline_quarters=None, income_baseline_year="2022/23"
    )
    frame = kpi_spc("participants", series, "increase")
    assert card.at["participants", "Variation"] == variation(frame)
    assert card.at["participants", "Assurance"] == assurance(frame, None, "increase") is None


def test_fewer_than_twelve_points_are_trial_limits():
    data = make_data(studies=[study("a", "2019-04-01")], recruitment=[rec("2019-04-01", 30), rec("2019-07-01", 31)])
    card = build_scorecard(data, "2019-20-Q4", "QWU", None).set_index("Kpi")
    assert card.at["participants", "Points"] == 4 and card.at["participants", "TrialLimits"]
    assert card.at["participants", "Variation"] in VARIATIONS


def test_empty_quarter_still_scores():
    data = make_data(studies=[study("a", "2019-04-01", "2019-06-30")], recruitment=[rec("2019-04-01", 30)])
    card = build_scorecard(data, "2020-21-Q1", "QWU", None).set_index("Kpi")
    assert card.at["participants", "Value"] == 0
    assert card.at["studies_open_pct_precovid", "Value"] == 0.0
    assert np.isnan(card.at["setup_median_days", "Value"])


def test_sample_pack_studies_open_above_target_is_not_a_consistent_fail(qwu_sample):
    # The sample's studies open since 2013 but its data start in 2018/19: the history must start
    # there too, or the ramp up from 2013 puts every recent point above the limits' reach of 100%.
    from helpers.loading import load_data

    data = load_data(qwu_sample, "2026-27-Q2", tables=["organisations", "studies", "recruitment"])
    row = build_scorecard(data, "2026-27-Q2", "QWU", load_targets()).set_index("Kpi").loc["studies_open_pct_precovid"]
    assert row["Value"] > row["Target"] == 100
    assert row["Assurance"] != "consistent_fail"


@pytest.mark.parametrize("icb", ["QWU", "QHG", "QOX"])
def test_sample_packs_have_no_headline_whose_rag_and_assurance_contradict(icb, tmp_path):
    """On track with "consistently missed", or off track with "consistently passed", would tell a
    board two things at once: never on the sample data of QWU and two other ICBs."""
    from helpers.loading import load_data
    from sampledata.generate import generate, write

    write(generate(icb, "2026/27 Q2"), tmp_path)
    card = build_scorecard(load_data(tmp_path, "2026/27 Q2"), "2026/27 Q2", icb, load_targets())
    contradictions = card[
        ((card["Rag"] == "green") & (card["Assurance"] == "consistent_fail"))
        | ((card["Rag"] == "red") & (card["Assurance"] == "consistent_pass"))
    ]
    assert contradictions.empty, contradictions[["Kpi", "Value", "Target", "Rag", "Assurance"]].to_string()
    assert card["Rag"].notna().sum() >= 3  # the check compares something


def test_commercial_share_label_says_trials_or_studies():
    def card_label(**design):
        data = make_data(
            studies=[study("a", "2019-04-01", route="Commercial", **design), study("b", "2019-04-01", **design)]
        )
        card = build_scorecard(data, "2020-21-Q1", "QWU", None).set_index("Kpi")
        return card.at["commercial_pct_open_studies", "Label"]

    assert card_label() == "Commercial studies, % of all open studies"
    assert card_label(StudyDesign="Interventional") == "Commercial trials, % of open trials"


def test_cross_system_count_starts_where_the_targets_given_say(data):
    """The cross-system KPI counts from the quarter after its target's baseline quarter, in the
    targets passed (a project's own targets file), not the project's default file."""
    default = load_targets()
    rule = default["cross_system_studies"]
    earlier = {
        **default,
        "cross_system_studies": rule.model_copy(
            update={"baseline": rule.baseline.model_copy(update={"quarter": parse("2020/21 Q4")})}
        ),
    }

    def value(targets):
        card = build_scorecard(data, "2023/24 Q1", "QWU", targets)
        row = card[card["Kpi"] == "cross_system_studies"].iloc[0]
        return row["Value"], row["Label"]

    assert value(default)[0] == 0  # study c opened in 2021/22 Q1, before the plan's 2023/24 Q1
    counted, label = value(earlier)
    assert counted == 1 and "since 2021/22 Q1" in label


def test_given_series_stand_in_for_computing_but_not_for_tables_not_loaded(data):
    """The packs of a many-ICB folder give the series computed for every ICB in one pass: they are
    used as they are; a KPI whose tables the pack did not load is still left out."""
    quarter, targets = "2023-24-Q1", load_targets()
    computed = build_scorecard(data, quarter, "QWU", targets).set_index("Kpi")
    own = KPIS["new_studies"].series(data, parse(quarter), "QWU")
    given = {
        "new_studies": own + 1.0,  # a different series: the scorecard must show it
        "ppie_activities": pd.Series([3.0], index=[parse(quarter).id]),  # engagement is not loaded
    }
    histories: dict = {}
    card = build_scorecard(data, quarter, "QWU", targets, given_series=given, histories=histories).set_index("Kpi")
    assert card.at["new_studies", "Value"] == computed.at["new_studies", "Value"] + 1
    pd.testing.assert_series_equal(histories["new_studies"], given["new_studies"])
    assert "ppie_activities" not in card.index
    assert set(card.index) == set(computed.index)
