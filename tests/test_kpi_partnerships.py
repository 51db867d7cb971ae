"""helpers.kpi_partnerships: cross-system studies against the target, workforce."""

import pandas as pd
from backtest.frames import make_data, study

from helpers import kpi_partnerships as kp, narrative


def staff(quarter, org, active, joint):
    return {"Quarter": quarter, "OrganisationCode": org, "ResearchActiveStaff": active, "JointAppointments": joint}


def test_cross_system_studies_cumulative_against_the_default_target():
    data = make_data(
        studies=[
            study("a", "2025-05-01", cross=True),
            study("b", "2025-08-01", cross=True),
            study("c", "2025-08-01", cross=True, portfolio=False),  # not portfolio
            study("d", "2025-08-01"),  # not cross-system
            study("e", None, cross=True),  # not yet opened
        ]
    )
    out = kp.cross_system_studies(data, "2026-27-Q1", "QWU").set_index("Quarter")
    assert list(out["CumulativeCrossSystemStudies"]) == [1, 2, 2, 2, 2]
    assert out["Target"].isna().sum() == 3  # the target of 5 applies from 2025/26 Q4
    assert out.at["2025-26-Q4", "Target"] == 5 and not out["TargetMet"].any()


def test_cross_system_target_met():
    data = make_data(studies=[study(f"s{i}", "2020-04-01", cross=True) for i in range(3)])
    out = kp.cross_system_studies(
        data, "2020-21-Q1", "QWU", target=3, target_quarter="2020-21-Q1", counts_from="2020-21-Q1"
    )
    assert out["TargetMet"].iloc[-1] and out["Target"].iloc[-1] == 3


def test_no_cross_system_study_is_zero():
    out = kp.cross_system_studies(make_data(studies=[study("a", "2020-04-01")]), "2020-21-Q1", "QWU")
    assert list(out["CumulativeCrossSystemStudies"]) == [0]


def test_workforce_totals_per_quarter_and_disclosure():
    data = make_data(
        workforce=[
            staff("2020-21-Q1", "RKB", 50, 3),
            staff("2020-21-Q1", "RJC", 12, 2),
            staff("2020-21-Q2", "RKB", 61, 9),
            staff("2020-21-Q2", "RRK", 500, 40),
        ]
    )
    raw = kp.research_active_staff(data, "2020-21-Q2", "QWU", disclosed=False)
    assert list(raw["ResearchActiveStaff"]) == [62, 61]
    assert list(kp.joint_appointments(data, "2020-21-Q2", "QWU", disclosed=False)["JointAppointments"]) == [5, 9]
    assert list(kp.joint_appointments(data, "2020-21-Q2", "QWU")["JointAppointments"]) == ["*", 10]


def test_workforce_by_organisation_protects_against_the_total():
    data = make_data(workforce=[staff("2020-21-Q1", "RKB", 50, 3), staff("2020-21-Q1", "RJC", 12, 20)])
    out = kp.workforce_by_organisation(data, "2020-21-Q1", "QWU")
    assert list(out["OrganisationCode"]) == ["RJC", "RKB", "Total"]
    assert list(out["ResearchActiveStaff"]) == [10, 50, 60]
    assert list(out["JointAppointments"]) == ["*", "*", 25]  # 3 hidden, so 20 is hidden too


def test_empty_workforce_quarter():
    data = make_data(workforce=[])
    assert list(kp.research_active_staff(data, "2020-21-Q1", "QWU")["ResearchActiveStaff"]) == [0]
    assert kp.workforce_by_organisation(data, "2020-21-Q1", "QWU", disclosed=False).empty


def test_cross_system_history_starts_with_the_data_and_its_total_counts_earlier_openings():
    data = make_data(
        studies=[study("old", "2015-05-01", cross=True), study("new", "2019-08-01", cross=True)],
        recruitment=[{"StudyId": "old", "OrganisationCode": "RKB", "Month": "2019-04-01", "Participants": 1}],
    )
    out = kp.cross_system_studies(
        data, "2019-20-Q3", "QWU", target=2, target_quarter="2019-20-Q3", counts_from="2015-16-Q1"
    )
    assert list(out["Quarter"]) == ["2019-20-Q1", "2019-20-Q2", "2019-20-Q3"]
    assert list(out["NewCrossSystemStudies"]) == [0, 1, 0]
    assert list(out["CumulativeCrossSystemStudies"]) == [1, 2, 2]
    assert out["TargetMet"].iloc[-1]


def test_cross_system_counts_from_the_rules_start_quarter_in_the_targets_file():
    # targets.yml: baseline 0 at 2022/23 Q4, so the count starts in 2023/24 Q1; 5 due by 2025/26 Q4.
    assert [str(x) for x in kp.cross_system_rule()] == ["2023/24 Q1", "5.0", "2025/26 Q4"]
    data = make_data(
        studies=[
            study("feb23", "2023-02-15", cross=True),  # 2022/23 Q4: before the rule starts
            study("apr23", "2023-04-01", cross=True),  # 2023/24 Q1: the first quarter counted
            study("jun24", "2024-06-30", cross=True),
        ]
    )
    out = kp.cross_system_studies(data, "2024-25-Q1", "QWU").set_index("Quarter")
    assert out.at["2022-23-Q4", "NewCrossSystemStudies"] == 1  # the opening is still shown ...
    assert out.at["2022-23-Q4", "CumulativeCrossSystemStudies"] == 0  # ... but not counted
    assert out.at["2023-24-Q1", "CumulativeCrossSystemStudies"] == 1
    assert out["CumulativeCrossSystemStudies"].iloc[-1] == 2


def test_cross_system_status_says_met_or_missed_at_the_due_quarter_and_today():
    # 4 counted by 2025/26 Q4 (the February 2023 study does not count), a 5th in 2026/27 Q1.
    openings = ["2023-02-01", "2023-05-01", "2024-01-10", "2025-03-01", "2025-12-01", "2026-04-20"]
    data = make_data(studies=[study(f"s{i}", day, cross=True) for i, day in enumerate(openings)])
    before_due = kp.cross_system_target_status(data, "2025-26-Q3", "QWU")
    assert before_due["CountNow"] == 4 and not before_due["MetNow"]
    assert before_due["CountAtDue"] is None and before_due["MetAtDue"] is None
    after_due = kp.cross_system_target_status(data, "2026-27-Q1", "QWU")
    assert after_due == {
        "CountsFrom": "2023-24-Q1",
        "DueQuarter": "2025-26-Q4",
        "Target": 5.0,
        "CountNow": 5,
        "MetNow": True,
        "CountAtDue": 4,
        "MetAtDue": False,
    }
    words = narrative.cross_system_target_words(after_due, "2026-27-Q1")
    assert words[1] == "At 2025/26 Q4, the due quarter, 4 had opened: target missed"
    assert words[2] == "5 opened to 2026/27 Q1: at or above the target today"
    assert "counted from 2023/24 Q1" in words[0]
    assert narrative.cross_system_target_words(before_due, "2025-26-Q3")[1] == "4 opened to 2025/26 Q3: not yet met"
    # The same words from the one-row frame the section declares (helpers.section_tables)
    for status, quarter in ((after_due, "2026-27-Q1"), (before_due, "2025-26-Q3")):
        row = pd.DataFrame([status])
        assert narrative.cross_system_target_words(row, quarter) == narrative.cross_system_target_words(status, quarter)
