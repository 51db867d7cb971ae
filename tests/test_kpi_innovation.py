"""helpers.kpi_innovation: pipeline, movements, benefits."""

import pytest
from backtest.frames import make_data

from helpers import kpi_innovation as ki


def stage(innovation, stage_name, day, name=None, lead="RKB"):
    return {
        "InnovationId": innovation,
        "InnovationName": name or f"Innovation {innovation}",
        "Stage": stage_name,
        "StageDate": day,
        "LeadOrganisationCode": lead,
    }


def benefit(quarter, innovation, measure, unit, value):
    return {"Quarter": quarter, "InnovationId": innovation, "BenefitMeasure": measure, "Unit": unit, "Value": value}


@pytest.fixture
def data():
    return make_data(
        innovations=[
            stage("a", "identified", "2020-04-01"),
            stage("a", "assessed", "2020-04-01"),
            stage("a", "piloting", "2020-08-01"),
            stage("b", "identified", "2020-10-05"),
            stage("p", "identified", "2020-04-01", name="Pharmacy Clinical Trials Alignment Project"),
            stage("x", "identified", "2020-04-01", lead="RRK"),
        ],
        innovation_benefits=[
            benefit("2020-21-Q1", "a", "Cash-releasing savings", "GBP", 100.0),
            benefit("2020-21-Q2", "a", "Cash-releasing savings", "GBP", 50.0),
            benefit("2020-21-Q3", "a", "Cash-releasing savings", "GBP", 1000.0),
            benefit("2020-21-Q2", "p", "Patients offered a trial", "patients", 4.0),
            benefit("2020-21-Q2", "x", "Cash-releasing savings", "GBP", 9.0),
        ],
    )


def test_pipeline_latest_stage_with_same_day_changes_in_stage_order(data):
    q1 = ki.pipeline_by_stage(data, "2020-21-Q1", "QWU").set_index("Stage")["Innovations"]
    assert q1["assessed"] == 1 and q1["identified"] == 1 and q1.sum() == 2  # a (assessed) and p
    q2 = ki.pipeline_by_stage(data, "2020-21-Q2", "QWU").set_index("Stage")["Innovations"]
    assert q2["piloting"] == 1 and q2.sum() == 2  # b is identified after the quarter


def test_movements_in_the_quarter(data):
    moves = ki.stage_movements(data, "2020-21-Q2", "QWU")
    assert list(zip(moves["InnovationId"], moves["FromStage"], moves["ToStage"])) == [("a", "assessed", "piloting")]
    assert ki.stage_movements(data, "2021-22-Q1", "QWU").empty  # a quarter with no movement


def test_benefits_in_quarter_and_cumulative_ignore_later_quarters(data):
    out = ki.benefits_by_measure(data, "2020-21-Q2", "QWU", disclosed=False).set_index("BenefitMeasure")
    assert out.at["Cash-releasing savings", "InQuarter"] == 50.0
    assert out.at["Cash-releasing savings", "Cumulative"] == 150.0
    shown = ki.benefits_by_measure(data, "2020-21-Q2", "QWU").set_index("BenefitMeasure")
    assert shown.at["Patients offered a trial", "Cumulative"] == "*"  # 4 people
    assert shown.at["Cash-releasing savings", "Cumulative"] == 150.0  # money is not a count of people


def test_pharmacy_alignment_project_benefits(data):
    out = ki.pharmacy_alignment_benefits(data, "2020-21-Q2", "QWU", disclosed=False)
    assert list(out["BenefitMeasure"]) == ["Patients offered a trial"] and out["Cumulative"].iloc[0] == 4
    assert ki.pharmacy_alignment_benefits(data, "2020-21-Q2", "QWU", name_contains="nothing").empty


def test_fractional_patient_benefit_is_rounded_to_whole_people_before_disclosure():
    data = make_data(
        innovations=[stage("a", "identified", "2020-04-01")],
        innovation_benefits=[benefit("2020-21-Q1", "a", "Patients reached", "patients", 173.4)],
    )
    shown = ki.benefits_by_measure(data, "2020-21-Q1", "QWU")
    assert shown["InQuarter"].iloc[0] == 175 and shown["Cumulative"].iloc[0] == 175
    assert ki.benefits_by_measure(data, "2020-21-Q1", "QWU", disclosed=False)["InQuarter"].iloc[0] == 173.4


def test_pipeline_history_matches_the_quarter_by_quarter_pipeline(data):
    history = ki.pipeline_history(data, "2020-21-Q3", "QWU")
    assert list(history["Quarter"].unique()) == ["2020-21-Q1", "2020-21-Q2", "2020-21-Q3"]
    for quarter in history["Quarter"].unique():
        expected = ki.pipeline_by_stage(data, quarter, "QWU")["Innovations"].tolist()
        assert history.loc[history["Quarter"] == quarter, "Innovations"].tolist() == expected
