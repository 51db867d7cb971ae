"""helpers.kpi_deliverables: latest status and RAG of each milestone."""

import pytest
from backtest.frames import make_data

from helpers import kpi_deliverables as kd


def status(deliverable, due, quarter, value, icb="QWU"):
    return {
        "IcbCode": icb,
        "DeliverableId": deliverable,
        "Deliverable": f"Milestone {deliverable}",
        "Owner": "Lead",
        "DueQuarter": due,
        "Quarter": quarter,
        "Status": value,
    }


@pytest.fixture
def data():
    return make_data(
        deliverables=[
            status("late", "2020-21-Q1", "2020-21-Q1", "on_track"),
            status("late", "2020-21-Q1", "2020-21-Q2", "on_track"),
            status("overdue_at_risk", "2020-21-Q1", "2020-21-Q2", "at_risk"),  # overdue wins over at risk
            status("due_now", "2020-21-Q2", "2020-21-Q2", "on_track"),  # due this quarter: not overdue
            status("risky", "2021-22-Q1", "2020-21-Q2", "delayed"),
            status("future", "2021-22-Q1", "2020-21-Q2", "not_started"),
            status("done_late", "2020-21-Q1", "2020-21-Q2", "complete"),
            status("done_early", "2020-21-Q4", "2020-21-Q1", "complete"),
            status("done_early", "2020-21-Q4", "2020-21-Q2", "complete"),
            status("later_report", "2021-22-Q1", "2020-21-Q3", "at_risk"),  # reported after the quarter: ignored
            status("other_icb", "2020-21-Q1", "2020-21-Q2", "on_track", icb="QHL"),
        ]
    )


def test_rag_rules(data):
    out = kd.deliverables_rag(data, "2020-21-Q2", "QWU").set_index("DeliverableId")
    assert out["Rag"].to_dict() == {
        "late": "overdue",
        "overdue_at_risk": "overdue",
        "risky": "at_risk",
        "due_now": "on_track",
        "future": "on_track",
        "done_late": "complete",
        "done_early": "complete",
    }
    assert out.at["late", "Colour"] == "red" and out.at["risky", "Colour"] == "amber"
    assert out.at["done_late", "Late"] and not out.at["done_early", "Late"]
    assert out.at["done_early", "CompletedQuarter"] == "2020-21-Q1"
    assert out.at["done_late", "CompletedQuarter"] == "2020-21-Q2"  # due 2020/21 Q1
    assert out.at["done_late", "StatusShown"] == "complete, late"
    assert out.at["done_early", "StatusShown"] == "complete"
    assert out.at["risky", "StatusShown"] == "delayed"
    assert list(out.index[:2]) == ["late", "overdue_at_risk"]  # red first


def test_status_is_the_latest_reported_by_the_quarter(data):
    earlier = kd.deliverables_rag(data, "2020-21-Q1", "QWU").set_index("DeliverableId")
    assert set(earlier.index) == {"late", "done_early"}
    assert earlier.at["late", "Rag"] == "on_track"  # due this quarter, not yet overdue


def test_summary_lists_every_rag(data):
    summary = kd.deliverables_summary(data, "2020-21-Q1", "QWU").set_index("Rag")
    assert summary["Deliverables"].to_dict() == {"overdue": 0, "at_risk": 0, "on_track": 1, "complete": 1}
    assert summary["Pct"].sum() == 100


def test_no_deliverables_reported_yet():
    out = kd.deliverables_summary(make_data(deliverables=[]), "2020-21-Q1", "QWU")
    assert out["Deliverables"].sum() == 0 and out["Pct"].isna().all()


def test_history_holds_each_status_until_the_next_report(data):
    history = kd.deliverables_history(data, "2020-21-Q2", "QWU")
    for quarter in ("2020-21-Q1", "2020-21-Q2"):
        expected = kd.deliverables_summary(data, quarter, "QWU")["Deliverables"].tolist()
        assert history.loc[history["Quarter"] == quarter, "Deliverables"].tolist() == expected
    gap = make_data(deliverables=[status("a", "2020-21-Q2", "2020-21-Q1", "on_track")])
    held = kd.deliverables_history(gap, "2020-21-Q3", "QWU").set_index(["Quarter", "Rag"])["Deliverables"]
    assert held[("2020-21-Q2", "on_track")] == 1 and held[("2020-21-Q3", "overdue")] == 1
