"""Backtest: every KPI on the frozen quarter in tests/backtest/data against the figures worked out
by hand in tests/backtest/WORKING.md (typed in here, never computed by the code under test)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
)
from helpers.loading import load_data
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets

DATA_DIR = Path(__file__).parent / "backtest" / "data"
QUARTER, ICB = "2020-21-Q2", "QWU"
QUARTERS = ["2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4", "2020-21-Q1", "2020-21-Q2"]
NAN = float("nan")


@pytest.fixture(scope="module")
def data():
    return load_data(DATA_DIR, QUARTER)


def same(actual, expected) -> bool:
    """Exact for whole numbers, text and '*'; to within 1e-9 for fractions; NaN/NA equal NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return actual is None or actual is pd.NA or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, float):
        return (
            not isinstance(actual, str)
            and actual is not pd.NA
            and abs(float(actual) - expected) <= 1e-9 * max(1.0, abs(expected))
        )
    if isinstance(expected, str) or isinstance(expected, bool):
        return actual == expected
    return (
        not isinstance(actual, str) and actual is not pd.NA and float(actual) == expected and float(actual).is_integer()
    )


def check(frame: pd.DataFrame, column: str, expected: list) -> None:
    actual = list(frame[column])
    assert len(actual) == len(expected), f"{column}: {actual} != {expected}"
    mismatches = [(i, a, e) for i, (a, e) in enumerate(zip(actual, expected)) if not same(a, e)]
    assert not mismatches, f"{column}: (row, actual, expected) {mismatches}"


# -- research activity ---------------------------------------------------------------------------
def test_open_studies_against_baseline(data):
    out = kpi_activity.open_studies(data, QUARTER, ICB)
    check(out, "Quarter", QUARTERS)
    check(out, "OpenStudies", [2, 2, 2, 3, 3, 4])
    check(out, "OpenAtQuarterEnd", [1, 2, 2, 2, 2, 4])
    check(out, "BaselineMean", [2.25] * 6)
    check(
        out, "PctOfBaseline", [88.8888888889, 88.8888888889, 88.8888888889, 133.333333333, 133.333333333, 177.777777778]
    )


def test_new_studies(data):
    check(kpi_activity.new_studies(data, QUARTER, ICB), "NewStudies", [2, 1, 0, 1, 1, 2])


def test_open_studies_by_care_setting_and_specialty(data):
    setting = kpi_activity.open_studies_by_care_setting(data, QUARTER, ICB)
    check(setting, "CareSetting", ["acute", "community"])
    check(setting, "OpenStudies", [3, 1])
    check(setting, "Pct", [75.0, 25.0])
    specialty = kpi_activity.open_studies_by_specialty(data, QUARTER, ICB)
    check(specialty, "ManagingSpecialty", ["Cancer", "Cardiovascular Disease", "Mental Health", "Respiratory"])
    check(specialty, "OpenStudies", [1, 1, 1, 1])
    check(specialty, "Pct", [25.0] * 4)


def test_recruiting_organisations(data):
    check(kpi_activity.recruiting_organisations(data, QUARTER, ICB), "RecruitingOrganisations", [2, 2, 1, 2, 2, 4])


def test_gp_practices_recruiting(data):
    out = kpi_activity.gp_practices_recruiting(data, QUARTER, ICB)
    check(out, "GpPractices", [3] * 6)
    check(out, "RecruitingGpPractices", [NAN, NAN, NAN, 2, 1, 2])
    check(out, "PctRecruiting", [NAN, NAN, NAN, 66.6666666667, 33.3333333333, 66.6666666667])


# -- participation ----------------------------------------------------------------------------------
def test_participants_raw_and_disclosed(data):
    raw = kpi_participation.participants(data, QUARTER, ICB, disclosed=False)
    check(raw, "Participants", [20, 8, 7, 25, 31, 38])
    check(raw, "Rolling12Months", [NAN, NAN, NAN, 60, 71, 101])
    shown = kpi_participation.participants(data, QUARTER, ICB)
    check(shown, "Participants", [20, 10, "*", 25, 30, 40])
    check(shown, "Rolling12Months", [NAN, NAN, NAN, 60, 70, 100])


def test_participants_not_on_the_portfolio(data):
    raw = kpi_participation.participants(data, QUARTER, ICB, disclosed=False, scope="not_portfolio")
    check(raw, "Participants", [0, 10, 0, 0, 0, 9])
    check(raw, "Rolling12Months", [NAN, NAN, NAN, 10, 10, 9])
    shown = kpi_participation.participants(data, QUARTER, ICB, scope="not_portfolio")
    check(shown, "Participants", [0, 10, 0, 0, 0, 10])
    check(shown, "Rolling12Months", [NAN, NAN, NAN, 10, 10, 10])
    everyone = kpi_participation.participants(data, QUARTER, ICB, disclosed=False, scope="all")
    check(everyone, "Participants", [20, 18, 7, 25, 31, 47])


def test_participants_per_10k(data):
    raw = kpi_participation.participants_per_10k(data, QUARTER, ICB, disclosed=False)
    check(raw, "Population", [963204] * 6)
    check(raw, "Per10000", [NAN, NAN, NAN, 0.6229210012, 0.7371231847, 1.048583685])
    shown = kpi_participation.participants_per_10k(data, QUARTER, ICB)
    check(shown, "Rolling12Months", [NAN, NAN, NAN, 60, 70, 100])
    check(shown, "Per10000", [NAN, NAN, NAN, 0.6229210012, 0.7267411680, 1.038201669])


def test_participants_by_place(data):
    raw = kpi_participation.participants_by_place(data, QUARTER, ICB, disclosed=False)
    check(raw, "Place", ["Coventry", "South Warwickshire", "Warwickshire North"])
    check(raw, "Participants", [12, 5, 21])
    check(raw, "Pct", [31.5789473684, 13.1578947368, 55.2631578947])
    shown = kpi_participation.participants_by_place(data, QUARTER, ICB)
    check(shown, "Place", ["Coventry", "South Warwickshire", "Warwickshire North", "Total"])
    check(shown, "Participants", ["*", "*", 20, 40])
    check(shown, "Pct", ["*", "*", 50.0, 100.0])
    everyone = kpi_participation.participants_by_place(data, QUARTER, ICB, disclosed=False, scope="all")
    check(everyone, "Participants", [12, 5, 30])


def test_participants_by_organisation_type(data):
    shown = kpi_participation.participants_by_organisation_type(data, QUARTER, ICB)
    check(shown, "OrganisationType", ["acute", "gp_practice", "mental_health_community", "Total"])
    check(shown, "Participants", ["*", "*", 20, 40])
    check(shown, "Pct", ["*", "*", 50.0, 100.0])
    raw = kpi_participation.participants_by_organisation_type(data, QUARTER, ICB, disclosed=False)
    check(raw, "Participants", [17, 1, 20])


def test_participants_by_imd_quintile(data):
    raw = kpi_participation.participants_by_imd_quintile(data, QUARTER, ICB, disclosed=False)
    check(raw, "ImdQuintile", ["1", "2", "3", "4", "5", "Unknown"])
    check(raw, "Participants", [21, 25, 50, 0, 30, 7])
    check(raw, "Population", [137208, 195965, 220105, 235043, 174852, NAN])
    check(raw, "ParticipantPct", [16.6666666667, 19.8412698413, 39.6825396825, 0.0, 23.8095238095, NAN])
    check(raw, "PopulationPct", [14.2454159325, 20.3457738122, 22.8520733035, 24.4029888712, 18.1537480806, NAN])
    check(raw, "RepresentationRatio", [1.169967009, 0.9752035005, 1.736496254, 0.0, 1.311548651, NAN])
    shown = kpi_participation.participants_by_imd_quintile(data, QUARTER, ICB)
    check(shown, "ImdQuintile", ["1", "2", "3", "4", "5", "Total (known)", "Unknown"])
    check(shown, "Participants", [20, 25, 50, 0, 30, 125, "*"])
    check(shown, "ParticipantPct", [16.0, 20.0, 40.0, 0.0, 24.0, 100.0, NAN])
    check(shown.iloc[:5], "RepresentationRatio", [1.123168328, 0.9830051285, 1.750388224, 0.0, 1.322041040])


def test_participants_core20(data):
    raw = kpi_participation.participants_core20(data, QUARTER, ICB, disclosed=False)
    check(raw, "Group", ["Core20", "Other", "Unknown"])
    check(raw, "Participants", [21, 105, 7])
    check(raw, "RepresentationRatio", [1.169967009, 0.9717653492, NAN])
    shown = kpi_participation.participants_core20(data, QUARTER, ICB)
    check(shown, "Participants", [20, 105, 125, "*"])
    check(shown, "ParticipantPct", [16.0, 84.0, 100.0, NAN])
    check(shown.iloc[:2], "RepresentationRatio", [1.123168328, 0.9795394720])


def test_core20_history(data):
    out = kpi_participation.core20_history(data, QUARTER, ICB)
    check(out, "Quarter", QUARTERS)
    check(out, "Core20Pct", [NAN, NAN, NAN, 66.0, 32.0, 16.6666666667])
    check(out, "PopulationPct", [14.2454159325] * 6)
    check(out, "RepresentationRatio", [NAN, NAN, NAN, 4.633069355, 2.246336657, 1.169967009])


def test_participants_by_ethnicity(data):
    raw = kpi_participation.participants_by_ethnicity(data, QUARTER, ICB, disclosed=False)
    check(raw, "EthnicGroup", ["Asian", "Black", "Mixed", "White", "Other", "Not stated"])
    check(raw, "Participants", [20, 6, 2, 70, 0, 12])
    check(raw, "Pct", [20.4081632653, 6.1224489796, 2.0408163265, 71.4285714286, 0.0, NAN])
    shown = kpi_participation.participants_by_ethnicity(data, QUARTER, ICB)
    check(shown, "EthnicGroup", ["Asian", "Black", "Mixed", "White", "Other", "Total (known)", "Not stated"])
    check(shown, "Participants", [20, "*", "*", 70, 0, 100, 10])
    check(shown, "Pct", [20.0, "*", "*", 70.0, 0.0, 100.0, NAN])


def test_ethnicity_representation(data):
    raw = kpi_participation.ethnicity_representation(data, QUARTER, ICB, disclosed=False)
    check(raw, "EthnicGroup", ["Asian", "Black", "Mixed", "White", "Other", "Not stated"])
    check(raw, "Population", [101265, 38732, 25261, 757912, 18910, NAN])
    check(raw, "PopulationPct", [10.7490871264, 4.1113281250, 2.6814070992, 80.4509171196, 2.0072605299, NAN])
    check(raw, "RepresentationRatio", [1.898595018, 1.489165738, 0.7610990241, 0.8878527926, 0.0, NAN])
    shown = kpi_participation.ethnicity_representation(data, QUARTER, ICB)
    check(shown, "ParticipantPct", [20.0, "*", "*", 70.0, 0.0, 100.0, NAN])
    check(shown, "RepresentationRatio", [1.860623118, "*", "*", 0.8700957367, 0.0, NAN, NAN])


# -- commercial --------------------------------------------------------------------------------------
def test_commercial_share_of_open_studies(data):
    out = kpi_commercial.commercial_share_of_open_studies(data, QUARTER, ICB)
    check(out, "CommercialOpenStudies", [0, 1, 1, 1, 1, 2])
    check(out, "CommercialPct", [0.0, 50.0, 50.0, 33.3333333333, 33.3333333333, 50.0])


def test_commercial_participants(data):
    raw = kpi_commercial.commercial_participants(data, QUARTER, ICB, disclosed=False)
    check(raw, "CommercialParticipants", [0, 3, 4, 5, 6, 17])
    check(raw, "CommercialPct", [0.0, 16.6666666667, 57.1428571429, 20.0, 19.3548387097, 36.1702127660])
    check(raw, "CommercialRolling12Months", [NAN, NAN, NAN, 12, 18, 32])
    shown = kpi_commercial.commercial_participants(data, QUARTER, ICB)
    check(shown, "CommercialParticipants", [0, "*", "*", "*", "*", 15])
    check(shown, "Participants", [20, 20, "*", 25, 30, 45])
    check(shown, "CommercialPct", [0.0, "*", "*", "*", "*", 33.3333333333])
    check(shown, "CommercialRolling12Months", [NAN, NAN, NAN, 10, 20, 30])


def test_commercial_income(data):
    out = kpi_commercial.commercial_income(data, QUARTER, ICB, baseline_year="2019/20")
    check(out, "Quarter", QUARTERS)
    check(out, "IncomeGBP", [10000.0, 12000.5, 8000.0, 10000.0, 15000.0, 22500.25])
    check(out, "Rolling12MonthsGBP", [NAN, NAN, NAN, 40000.5, 45000.5, 55500.25])
    check(out, "BaselineGBP", [40000.5] * 6)


def test_setup_times(data):
    # Every study here was costed before NCVR began (1 October 2022): none counts by default.
    assert kpi_commercial.setup_times(data, QUARTER, ICB).empty
    by_default = kpi_commercial.setup_time_summary(data, QUARTER, ICB)
    check(by_default, "Quarter", [QUARTER])
    check(by_default, "Studies", [0])
    check(by_default, "MedianDays", [NAN])
    per_study = kpi_commercial.setup_times(data, QUARTER, ICB, ncvr_from="2019-04-01")
    check(per_study, "StudyId", ["S2", "S12", "S5"])
    check(per_study, "SetupDays", [158, 130, 154])
    summary = kpi_commercial.setup_time_summary(data, QUARTER, ICB, ncvr_from="2019-04-01")
    check(summary, "Quarter", QUARTERS[1:])
    check(summary, "Studies", [1, 0, 1, 0, 1])
    check(summary, "MedianDays", [158.0, NAN, 130.0, NAN, 154.0])
    check(summary, "NationalTargetDays", [150.0] * 5)


def test_recruitment_to_time_and_target(data):
    out = kpi_commercial.recruitment_to_time_and_target(data, QUARTER, ICB)
    check(out, "StudyId", ["S11", "S2", "S5", "S6"])
    check(out, "RecruitedToDate", [0, 25, 5, 46])
    check(out, "PctTargetReached", [0.0, 62.5, 50.0, 153.3333333333])
    check(out, "PctTimeElapsed", [8.219178082, 54.17236662, 21.36986301, 83.15217391])
    check(out, "Rtt", [-1.0, 0.1537247475, 1.339743590, 0.8440087146])
    check(out, "OnTrack", [False, True, True, True])


def test_rtt_summary(data):
    out = kpi_commercial.rtt_summary(data, QUARTER, ICB, quarters=3)
    check(out, "Quarter", ["2019-20-Q4"] * 3 + ["2020-21-Q1"] * 3 + ["2020-21-Q2"] * 3)
    check(out, "StudyRoute", ["All", "Commercial", "Non-commercial"] * 3)
    check(out, "StudiesAssessed", [2, 1, 1, 2, 1, 1, 4, 2, 2])
    check(out, "PctOnTrack", [50.0, 100.0, 0.0, 100.0, 100.0, 100.0, 75.0, 100.0, 50.0])


# -- partnerships and workforce ------------------------------------------------------------------------
def test_cross_system_studies(data):
    # The targets file's rule counts from 2023/24 Q1: nothing in this data counts.
    by_rule = kpi_partnerships.cross_system_studies(data, QUARTER, ICB)
    check(by_rule, "NewCrossSystemStudies", [1, 0, 0, 1, 1, 0])
    check(by_rule, "CumulativeCrossSystemStudies", [0] * 6)
    check(by_rule, "Target", [NAN] * 6)
    out = kpi_partnerships.cross_system_studies(
        data, QUARTER, ICB, target=5, target_quarter="2020-21-Q2", counts_from="2019-20-Q4"
    )
    check(out, "NewCrossSystemStudies", [1, 0, 0, 1, 1, 0])
    check(out, "CumulativeCrossSystemStudies", [0, 0, 0, 1, 2, 2])
    check(out, "Target", [NAN] * 5 + [5.0])
    assert not out["TargetMet"].iloc[-1]


def test_workforce(data):
    check(
        kpi_partnerships.research_active_staff(data, QUARTER, ICB, disclosed=False),
        "ResearchActiveStaff",
        [130, 133, 133, 143, 130, 160],
    )
    check(
        kpi_partnerships.joint_appointments(data, QUARTER, ICB, disclosed=False),
        "JointAppointments",
        [5, 5, 6, 7, 8, 9],
    )
    check(
        kpi_partnerships.research_active_staff(data, QUARTER, ICB),
        "ResearchActiveStaff",
        [130, 135, 135, 145, 130, 160],
    )
    check(kpi_partnerships.joint_appointments(data, QUARTER, ICB), "JointAppointments", ["*", "*", "*", "*", 10, 10])
    by_org = kpi_partnerships.workforce_by_organisation(data, QUARTER, ICB)
    check(by_org, "OrganisationCode", ["RKB", "RYG", "Total"])
    check(by_org, "ResearchActiveStaff", [120, 40, 160])
    check(by_org, "JointAppointments", ["*", "*", 10])


# -- innovation ------------------------------------------------------------------------------------------
def test_pipeline_and_movements(data):
    stages = ["identified", "assessed", "piloting", "adopting", "business_as_usual", "stopped"]
    at_f = kpi_innovation.pipeline_by_stage(data, QUARTER, ICB)
    check(at_f, "Stage", stages)
    check(at_f, "Innovations", [1, 0, 0, 1, 1, 1])
    check(kpi_innovation.pipeline_by_stage(data, "2020-21-Q1", ICB), "Innovations", [1, 0, 1, 0, 1, 0])
    history = kpi_innovation.pipeline_history(data, QUARTER, ICB)
    check(history[history["Quarter"] == "2020-21-Q1"], "Innovations", [1, 0, 1, 0, 1, 0])
    check(history[history["Quarter"] == QUARTER], "Innovations", [1, 0, 0, 1, 1, 1])
    moves = kpi_innovation.stage_movements(data, QUARTER, ICB)
    check(moves, "InnovationId", ["I1", "I2", "I3", "I2"])
    check(moves, "FromStage", ["piloting", "identified", NAN, "assessed"])
    check(moves, "ToStage", ["adopting", "assessed", "identified", "stopped"])


def test_benefits(data):
    raw = kpi_innovation.benefits_by_measure(data, QUARTER, ICB, disclosed=False)
    check(raw, "BenefitMeasure", ["Cash-releasing savings", "Clinician hours released", "Patients offered a trial"])
    check(raw, "InQuarter", [10000.0, 120.5, 12.0])
    check(raw, "Cumulative", [22500.5, 200.5, 18.0])
    shown = kpi_innovation.benefits_by_measure(data, QUARTER, ICB)
    check(shown, "InQuarter", [10000.0, 120.5, 10])
    check(shown, "Cumulative", [22500.5, 200.5, 20])
    pharmacy = kpi_innovation.pharmacy_alignment_benefits(data, QUARTER, ICB)
    check(pharmacy, "BenefitMeasure", ["Cash-releasing savings", "Patients offered a trial"])
    check(pharmacy, "Cumulative", [22500.5, 20])


# -- engagement --------------------------------------------------------------------------------------------
def test_engagement(data):
    raw = kpi_engagement.engagement(data, QUARTER, ICB, disclosed=False)
    check(raw, "Quarter", QUARTERS[3:])
    check(raw, "events", [1, 2, 3])
    check(raw, "ppie_activities", [0, 4, 5])
    check(raw, "event_attendance", [0, 88, 7])
    shown = kpi_engagement.engagement(data, QUARTER, ICB)
    check(shown, "ppie_contributors", [0, 25, 30])
    check(shown, "portal_registrations", [0, 150, 160])
    check(shown, "bpor_registrations", [0, "*", 40])
    check(shown, "event_attendance", [0, 90, "*"])
    check(shown, "events", [1, 2, 3])


# -- deliverables ------------------------------------------------------------------------------------------
def test_deliverables(data):
    rag = kpi_deliverables.deliverables_rag(data, QUARTER, ICB)
    check(rag, "DeliverableId", ["D1", "D2", "D4", "D3", "D5"])
    check(rag, "Rag", ["overdue", "at_risk", "on_track", "complete", "complete"])
    check(rag, "Colour", ["red", "amber", "green", "blue", "blue"])
    assert list(rag["Late"].iloc[3:]) == [True, False]
    check(rag, "CompletedQuarter", [NAN, NAN, NAN, "2020-21-Q2", "2020-21-Q1"])
    check(rag, "StatusShown", ["on_track", "delayed", "not_started", "complete, late", "complete"])
    assert rag["Late"].iloc[:3].isna().all()
    summary = kpi_deliverables.deliverables_summary(data, QUARTER, ICB)
    check(summary, "Deliverables", [1, 1, 1, 2])
    check(summary, "Pct", [20.0, 20.0, 20.0, 40.0])
    history = kpi_deliverables.deliverables_history(data, QUARTER, ICB)
    check(history[history["Quarter"] == QUARTER], "Deliverables", [1, 1, 1, 2])
    # 2020/21 Q1: D1 on_track (due now), D2 at_risk, D3 on_track, D5 complete.
    check(history[history["Quarter"] == "2020-21-Q1"], "Deliverables", [0, 1, 2, 1])


# -- scorecard ------------------------------------------------------------------------------------------------
def test_scorecard(data):
    card = build_scorecard(data, QUARTER, ICB, load_targets(), income_baseline_year="2019/20").set_index("Kpi")
    expected = {
        # kpi: (value, previous, change, last year, change on last year)
        "studies_open_pct_precovid": (177.777777778, 133.333333333, 44.4444444444, 88.8888888889, 88.8888888889),
        "new_studies": (2, 1, 1, 1, 1),
        "participants": (40, 30, 10, 10, 30),
        "commercial_participants": (15, "*", "*", "*", "*"),
        "commercial_income": (55500.25, 45000.5, 10499.75, NAN, NAN),
        "cross_system_studies": (0, 0, 0, 0, 0),
        "joint_appointments": (10, 10, 0, "*", "*"),
        "research_active_staff": (160, 130, 30, 135, 25),
        "rtt_pct_on_track": (75.0, 100.0, -25.0, 100.0, -25.0),
        "deliverables_on_track_pct": (60.0, 75.0, -15.0, NAN, NAN),
    }
    columns = [
        "Value",
        "PreviousQuarterValue",
        "ChangeOnPreviousQuarter",
        "SameQuarterLastYearValue",
        "ChangeOnSameQuarterLastYear",
    ]
    for kpi, values in expected.items():
        for column, value in zip(columns, values):
            assert same(card.at[kpi, column], value), (kpi, column, card.at[kpi, column], value)
    # Every target's baseline quarter (2022/23) is after this quarter: no target, no RAG.
    assert card["Target"].isna().all()
    assert card["Rag"].isna().all()
    assert card.loc[["participants", "commercial_participants", "joint_appointments"], "Disclosed"].all()
