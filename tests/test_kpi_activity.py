"""helpers.kpi_activity: open studies against the baseline, new studies, breakdowns, recruiting sites."""

import numpy as np
import pytest
from backtest.frames import make_data, study

from helpers import kpi_activity as ka
from helpers.kpi_common import MissingTableError


def rec(study_id, org, month, n):
    return {"StudyId": study_id, "OrganisationCode": org, "Month": month, "Participants": n}


BASELINE = ("2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4")


def test_open_studies_history_and_percentage_of_baseline():
    data = make_data(
        studies=[
            study("a", "2019-04-01"),  # open throughout
            study("b", "2019-10-01", "2020-01-15"),  # 2019/20 Q3 and Q4
            study("c", "2020-04-01", portfolio=False),  # not portfolio: never counted
        ]
    )
    out = ka.open_studies(data, "2020-21-Q1", "QWU")
    assert list(out["OpenStudies"]) == [1, 1, 2, 2, 1]
    assert out["BaselineMean"].iloc[0] == 1.5  # (1 + 1 + 2 + 2) / 4
    assert out["PctOfBaseline"].iloc[-1] == pytest.approx(100 / 1.5)
    all_studies = ka.open_studies(data, "2020-21-Q1", "QWU", portfolio_only=False)
    assert all_studies["OpenStudies"].iloc[-1] == 2


def test_open_at_any_time_in_the_quarter_and_open_at_its_end():
    data = make_data(
        studies=[
            study("a", "2019-04-01"),  # open throughout
            study("mid", "2019-05-01", "2019-08-15"),  # closes mid-Q2: open in Q2, not at its end
            study("last_day", "2019-04-01", "2019-06-30"),  # closes on Q1's last day: not open at its end
            study("first_day", "2019-07-01", "2019-10-01"),  # closes on Q3's first day: in Q3, not at its end
            study("late", "2019-12-31"),  # opens on Q3's last day: open at its end
            study("never"),  # not opened
        ]
    )
    out = ka.open_studies(data, "2019-20-Q4", "QWU")
    # Q1: a, mid, last_day | Q2: a, mid, first_day | Q3: a, first_day, late | Q4: a, late.
    assert list(out["OpenStudies"]) == [3, 3, 3, 2]
    # Ends: 30 Jun a, mid | 30 Sep a, first_day | 31 Dec a, late | 31 Mar a, late.
    assert list(out["OpenAtQuarterEnd"]) == [2, 2, 2, 2]


def test_baseline_quarters_are_a_parameter():
    data = make_data(studies=[study("a", "2019-04-01"), study("b", "2020-04-01")])
    out = ka.open_studies(data, "2020-21-Q1", "QWU", baseline_quarters=["2020-21-Q1"])
    assert out["BaselineMean"].iloc[0] == 2 and out["PctOfBaseline"].iloc[-1] == 100


def test_history_reaches_back_to_the_baseline_even_if_studies_open_later():
    data = make_data(studies=[study("a", "2019-07-01")])
    out = ka.open_studies(data, "2019-20-Q4", "QWU", baseline_quarters=BASELINE[1:])
    assert out["Quarter"].iloc[0] == "2019-20-Q2"


def test_no_study_open_in_the_baseline_is_a_clear_error():
    data = make_data(studies=[study("a", "2021-04-01")])
    with pytest.raises(ka.BaselineError, match="no open studies for ICB QWU in the baseline"):
        ka.open_studies(data, "2021-22-Q1", "QWU")


def test_baseline_after_the_quarter_is_an_error():
    data = make_data(studies=[study("a", "2019-04-01")])
    with pytest.raises(ka.BaselineError, match="after the quarter reported"):
        ka.open_studies(data, "2019-20-Q2", "QWU")


def test_empty_quarter_gives_zero_open_and_zero_new():
    # Nothing open or opened in 2020/21 Q2, after the only study closed.
    data = make_data(studies=[study("a", "2019-04-01", "2020-03-31")])
    assert ka.open_studies(data, "2020-21-Q2", "QWU")["OpenStudies"].iloc[-1] == 0
    new = ka.new_studies(data, "2020-21-Q2", "QWU")
    assert list(new["NewStudies"]) == [1, 0, 0, 0, 0, 0]
    assert ka.open_studies_by_care_setting(data, "2020-21-Q2", "QWU").empty


def test_breakdowns_count_each_open_study_once():
    data = make_data(
        studies=[
            study("a", "2020-04-01", setting="acute", specialty="Cancer"),
            study("b", "2020-04-01", setting="acute", specialty="Diabetes"),
            study("c", "2020-04-01", setting="primary_care", specialty="Cancer"),
        ]
    )
    by_setting = ka.open_studies_by_care_setting(data, "2020-21-Q1", "QWU")
    assert list(zip(by_setting["CareSetting"], by_setting["OpenStudies"])) == [("acute", 2), ("primary_care", 1)]
    by_specialty = ka.open_studies_by_specialty(data, "2020-21-Q1", "QWU")
    assert list(by_specialty["ManagingSpecialty"]) == ["Cancer", "Diabetes"]
    assert by_specialty["Pct"].sum() == pytest.approx(100)


def test_recruiting_organisations_ignore_zero_rows_and_other_icbs():
    data = make_data(
        studies=[study("a", "2020-04-01")],
        recruitment=[
            rec("a", "RKB", "2020-04-01", 3),
            rec("a", "RJC", "2020-05-01", 0),
            rec("a", "RRK", "2020-05-01", 8),
            rec("a", "RKB", "2020-06-01", 1),
        ],
    )
    out = ka.recruiting_organisations(data, "2020-21-Q2", "QWU")
    assert list(out["Quarter"]) == ["2020-21-Q1", "2020-21-Q2"]
    assert list(out["RecruitingOrganisations"]) == [1, 0]


def test_gp_practices_recruiting_over_rolling_twelve_months():
    data = make_data(
        studies=[study("a", "2019-04-01")],
        recruitment=[
            rec("a", "RKB", "2019-04-01", 5),
            rec("a", "M86001", "2019-05-01", 2),
            rec("a", "M86002", "2020-04-01", 1),
        ],
    )
    out = ka.gp_practices_recruiting(data, "2020-21-Q2", "QWU")
    assert out["GpPractices"].iloc[0] == 2
    recruiting = out.set_index("Quarter")["RecruitingGpPractices"]
    assert recruiting.iloc[:3].isna().all()
    # Window to 2019/20 Q4 holds M86001 (2019/20 Q1); to 2020/21 Q1 M86002 only; Q2 still M86002.
    assert list(recruiting.iloc[3:]) == [1, 1, 1]
    assert out["PctRecruiting"].iloc[-1] == 50.0


def test_study_table_missing_is_a_clear_error():
    with pytest.raises(MissingTableError, match="studies"):
        ka.new_studies(make_data(), "2020-21-Q1", "QWU")


def test_study_without_recruitment_still_counts_as_open():
    data = make_data(
        studies=[study("a", "2019-04-01"), study("b", "2019-04-01")], recruitment=[rec("a", "RKB", "2019-04-01", 10)]
    )
    assert ka.open_studies(data, "2019-20-Q4", "QWU")["OpenStudies"].iloc[-1] == 2
    assert np.isfinite(ka.open_studies(data, "2019-20-Q4", "QWU")["PctOfBaseline"]).all()


def test_study_histories_start_at_the_first_quarter_of_the_recruitment_data():
    # A study open since 2013 while the supplied history starts in 2019/20: no 2013-2019 ramp.
    data = make_data(
        studies=[study("old", "2013-05-01"), study("new", "2019-08-01")],
        recruitment=[rec("old", "RKB", "2019-04-01", 3), rec("new", "RKB", "2020-05-01", 2)],
    )
    out = ka.open_studies(data, "2020-21-Q1", "QWU")
    assert list(out["Quarter"]) == ["2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4", "2020-21-Q1"]
    assert list(out["OpenStudies"]) == [1, 2, 2, 2, 2]
    new = ka.new_studies(data, "2020-21-Q1", "QWU")
    assert list(new["Quarter"]) == list(out["Quarter"])
    assert list(new["NewStudies"]) == [0, 1, 0, 0, 0]  # the 2013 opening is before the history
