"""helpers.kpi_partnerships: cross-system studies against the target, workforce."""

from backtest.frames import make_data, study

from helpers import kpi_partnerships as kp


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
    out = kp.cross_system_studies(data, "2020-21-Q1", "QWU", target=3, target_quarter="2020-21-Q1")
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
    out = kp.cross_system_studies(data, "2019-20-Q3", "QWU", target=2, target_quarter="2019-20-Q3")
    assert list(out["Quarter"]) == ["2019-20-Q1", "2019-20-Q2", "2019-20-Q3"]
    assert list(out["NewCrossSystemStudies"]) == [0, 1, 0]
    assert list(out["CumulativeCrossSystemStudies"]) == [1, 2, 2]
    assert out["TargetMet"].iloc[-1]
