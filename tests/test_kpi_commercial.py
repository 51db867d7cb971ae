"""helpers.kpi_commercial: commercial share, participants, income, NCVR set-up time, RTT."""

import numpy as np
import pytest
from backtest.frames import make_data, study

from helpers import kpi_commercial as kc
from helpers.kpi_common import MissingTableError
from helpers.targets import load_targets


def rec(study_id, org, month, n):
    return {"StudyId": study_id, "OrganisationCode": org, "Month": month, "Participants": n}


def income(quarter, amount, org="RKB", stream="commercial_contract"):
    return {"Quarter": quarter, "OrganisationCode": org, "IncomeStream": stream, "AmountGBP": amount}


def test_commercial_share_of_open_studies():
    data = make_data(
        studies=[
            study("a", "2020-04-01", route="Commercial"),
            study("b", "2020-04-01"),
            study("c", "2020-07-01", route="Commercial"),
        ]
    )
    out = kc.commercial_share_of_open_studies(data, "2020-21-Q2", "QWU")
    assert list(out["CommercialOpenStudies"]) == [1, 2]
    assert list(out["CommercialPct"]) == [50.0, pytest.approx(200 / 3)]


def test_commercial_share_with_no_open_study_is_nan():
    data = make_data(studies=[study("a", None, route="Commercial")])
    out = kc.commercial_share_of_open_studies(data, "2020-21-Q2", "QWU")
    assert out["OpenStudies"].iloc[-1] == 0 and np.isnan(out["CommercialPct"].iloc[-1])


def test_commercial_participants_include_studies_led_elsewhere():
    data = make_data(
        studies=[study("a", "2020-04-01", route="Commercial", lead="RRK"), study("b", "2020-04-01")],
        recruitment=[rec("a", "RKB", "2020-04-01", 20), rec("b", "RKB", "2020-04-01", 80)],
    )
    out = kc.commercial_participants(data, "2020-21-Q1", "QWU", disclosed=False)
    assert out["CommercialParticipants"].iloc[-1] == 20 and out["CommercialPct"].iloc[-1] == 20.0


def test_commercial_income_rolling_baseline_and_target():
    rows = [income(q, 1000.0) for q in ("2022-23-Q1", "2022-23-Q2", "2022-23-Q3", "2022-23-Q4")]
    rows += [income("2023-24-Q1", 3000.0), income("2023-24-Q1", 500.0, stream="grants")]
    data = make_data(finance=rows)
    targets = load_targets()
    out = kc.commercial_income(data, "2023-24-Q1", "QWU", targets=targets).set_index("Quarter")
    assert out.at["2023-24-Q1", "IncomeGBP"] == 3000.0
    assert out.at["2023-24-Q1", "Rolling12MonthsGBP"] == 6000.0
    assert out.at["2022-23-Q4", "BaselineGBP"] == 4000.0
    assert out.at["2022-23-Q4", "TargetGBP"] == 4000.0  # the trajectory starts at the baseline
    # Doubling by 2027/28 Q4 in a straight line over 20 quarters: one twentieth of 4000 per quarter.
    assert out.at["2023-24-Q1", "TargetGBP"] == pytest.approx(4200.0)
    assert np.isnan(out.at["2022-23-Q3", "TargetGBP"])


def test_commercial_income_baseline_needs_the_whole_year():
    data = make_data(finance=[income("2022-23-Q3", 10.0), income("2022-23-Q4", 10.0)])
    assert kc.commercial_income(data, "2022-23-Q4", "QWU")["BaselineGBP"].isna().all()


def test_commercial_income_needs_the_finance_table():
    with pytest.raises(MissingTableError, match="finance"):
        kc.commercial_income(make_data(), "2022-23-Q4", "QWU")


def test_setup_time_median_of_an_even_number_of_studies():
    data = make_data(
        studies=[
            study(
                "a",
                "2020-05-01",
                route="Commercial",
                CostingSubmittedDate="2020-01-01",
                FirstParticipantDate="2020-05-10",
            ),
            study(
                "b",
                "2020-05-01",
                route="Commercial",
                CostingSubmittedDate="2020-03-01",
                FirstParticipantDate="2020-06-30",
            ),
            study(
                "c", "2020-05-01", route="Commercial", FirstParticipantDate="2020-06-01"
            ),  # no costing date: left out
            study(
                "d", "2020-05-01", CostingSubmittedDate="2020-01-01", FirstParticipantDate="2020-05-01"
            ),  # not commercial
            study(
                "e",
                "2020-05-01",
                route="Commercial",
                CostingSubmittedDate="2020-01-01",
                FirstParticipantDate="2020-07-01",
            ),  # later
        ]
    )
    # These studies predate NCVR (1 October 2022): ncvr_from moves the start to test the arithmetic.
    per_study = kc.setup_times(data, "2020-21-Q1", "QWU", ncvr_from="2019-01-01")
    assert list(per_study["SetupDays"]) == [130, 121]
    summary = kc.setup_time_summary(data, "2020-21-Q1", "QWU", ncvr_from="2019-01-01")
    assert summary["Studies"].iloc[-1] == 2 and summary["MedianDays"].iloc[-1] == 125.5
    assert kc.setup_times(data, "2020-21-Q1", "QWU").empty  # by default: none costed under NCVR


def test_setup_time_counts_only_studies_costed_from_the_start_of_ncvr():
    def costed(study_id, costing, first):
        return study(study_id, first, route="Commercial", CostingSubmittedDate=costing, FirstParticipantDate=first)

    data = make_data(
        studies=[
            costed("before", "2022-09-30", "2023-01-10"),  # costed the day before NCVR: not NCVR set-up
            costed("first_day", "2022-10-01", "2023-02-28"),  # 150 days
            costed("later", "2023-01-01", "2023-04-10"),  # 99 days
        ]
    )
    per_study = kc.setup_times(data, "2023-24-Q1", "QWU")
    assert list(per_study["StudyId"]) == ["first_day", "later"]
    assert list(per_study["SetupDays"]) == [150, 99]
    summary = kc.setup_time_summary(data, "2023-24-Q1", "QWU")
    # The chart starts with the first NCVR study's quarter (2022/23 Q4), not with older set-ups.
    assert list(summary["Quarter"]) == ["2022-23-Q4", "2023-24-Q1"]
    assert list(summary["MedianDays"]) == [150.0, 99.0]
    assert list(summary["NationalTargetDays"]) == [150.0, 150.0]


def test_setup_time_summary_with_no_study_is_one_empty_quarter():
    summary = kc.setup_time_summary(make_data(studies=[study("a", "2020-05-01")]), "2020-21-Q1", "QWU")
    assert list(summary["Studies"]) == [0] and summary["MedianDays"].isna().all()


def test_rtt_on_and_off_track_and_study_with_no_recruitment():
    data = make_data(
        studies=[
            study("on", "2020-04-01", planned_close="2020-09-28", sample=10),  # 91 of 181 days; 60% of target
            study("off", "2020-04-01", planned_close="2020-09-28", sample=100),  # 10% of target
            study("none", "2020-04-01", planned_close="2021-03-31", sample=5),  # no recruitment at all
            study("no_target", "2020-04-01", planned_close="2021-03-31"),  # no SampleSize: not assessed
            study("closed", "2020-04-01", "2020-06-30", planned_close="2021-03-31", sample=5),  # closed on the last day
        ],
        recruitment=[rec("on", "RKB", "2020-05-01", 6), rec("off", "RKB", "2020-05-01", 10)],
    )
    out = kc.recruitment_to_time_and_target(data, "2020-21-Q1", "QWU").set_index("StudyId")
    assert list(out.index) == ["none", "off", "on"]
    assert out.at["on", "PctTimeElapsed"] == pytest.approx(100 * 91 / 181)
    assert out.at["on", "Rtt"] == pytest.approx(60 / (100 * 91 / 181) - 1)
    assert out.at["on", "OnTrack"] and not out.at["off", "OnTrack"]
    assert out.at["none", "RecruitedToDate"] == 0 and out.at["none", "Rtt"] == -1
    summary = kc.rtt_summary(data, "2020-21-Q1", "QWU", quarters=1).set_index("StudyRoute")
    assert summary.at["All", "StudiesAssessed"] == 3 and summary.at["All", "PctOnTrack"] == pytest.approx(100 / 3)
    assert summary.at["Commercial", "StudiesAssessed"] == 0 and np.isnan(summary.at["Commercial", "PctOnTrack"])


def test_rtt_exactly_on_schedule_is_on_track():
    # Half the target in half the time (inclusive days: 1 Apr - 30 Jun is 91 of 182 days to 29 Sep).
    data = make_data(
        studies=[study("a", "2020-04-01", planned_close="2020-09-29", sample=20)],
        recruitment=[rec("a", "RKB", "2020-04-01", 10)],
    )
    out = kc.recruitment_to_time_and_target(data, "2020-21-Q1", "QWU")
    assert out["Rtt"].iloc[0] == 0 and out["OnTrack"].iloc[0]


def test_commercial_share_is_of_trials_when_the_study_design_is_given():
    data = make_data(
        studies=[
            study("trial_c", "2020-04-01", route="Commercial", StudyDesign="Interventional"),
            study("both_c", "2020-04-01", route="Commercial", StudyDesign="Both"),
            study("obs_c", "2020-04-01", route="Commercial", StudyDesign="Observational"),  # not a trial
            study("trial_n", "2020-04-01", StudyDesign="Interventional"),
            study("obs_n1", "2020-04-01", StudyDesign="Observational"),
            study("obs_n2", "2020-04-01", StudyDesign="Observational"),
            study("blank", "2020-04-01"),  # design not given: left out of the trial share
        ]
    )
    out = kc.commercial_share_of_open_studies(data, "2020-21-Q1", "QWU")
    # Trials: trial_c, both_c (commercial) and trial_n: 2 of 3.
    assert list(out["OpenStudies"]) == [3] and list(out["CommercialOpenStudies"]) == [2]
    assert out["CommercialPct"].iloc[-1] == pytest.approx(200 / 3)
    assert out["TrialsOnly"].all()
    assert kc.commercial_share_label(out) == "Commercial trials, % of open trials"


def test_commercial_share_is_of_all_open_studies_without_the_study_design():
    data = make_data(
        studies=[
            study("c", "2020-04-01", route="Commercial"),
            study("n1", "2020-04-01"),
            study("n2", "2020-04-01"),
            study("n3", "2020-04-01"),
        ]
    )
    out = kc.commercial_share_of_open_studies(data, "2020-21-Q1", "QWU")
    assert list(out["OpenStudies"]) == [4] and out["CommercialPct"].iloc[-1] == 25.0
    assert not out["TrialsOnly"].any()
    assert kc.commercial_share_label(out) == "Commercial studies, % of all open studies"
    # A frame with no StudyDesign column at all reads the same way.
    without = make_data(studies=data.studies.drop(columns="StudyDesign"))
    assert not kc.commercial_share_of_open_studies(without, "2020-21-Q1", "QWU")["TrialsOnly"].any()
