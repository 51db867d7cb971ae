"""helpers.changes: what changed since the previous pack, exception first, in words."""

import json

from backtest.frames import make_data
from test_kpi_deliverables import status
from test_pack_record import BASELINE, record, sample

from helpers import changes, kpi_deliverables, pack_record, section
from helpers.quarters import parse
from helpers.targets import load_targets


def kpi(kpi_id, rag=None, variation=None, label=None, target=100.0):
    return {
        "kpi": kpi_id,
        "label": label or kpi_id.title(),
        "unit": "percent",
        "rag": rag,
        "target": target,
        "variation": variation,
        "history": [],
    }


def deliverable(item, rag, status_=None, late=None, due="2026-27-Q1"):
    return {
        "id": item,
        "deliverable": f"Milestone {item}.",
        "due_quarter": due,
        "status": status_ or rag,
        "rag": rag,
        "late": late,
    }


def pack(quarter_id, kpis, deliverables=None):
    return {"format": 1, "icb": "QWU", "quarter_id": quarter_id, "kpis": kpis, "deliverables": deliverables}


PREVIOUS = pack(
    "2026-27-Q1",
    [
        kpi("a", "green", "common_cause"),
        kpi("b", "amber", "concern_low"),
        kpi("c", None, "improvement_high"),
        kpi("d", "red", "common_cause"),
    ],
    [deliverable("D1", "on_track"), deliverable("D2", "at_risk"), deliverable("D3", "overdue")],
)
CURRENT = pack(
    "2026-27-Q2",
    [
        kpi("a", "red", "concern_low"),  # became off track; new concern
        kpi("b", "green", "common_cause"),  # back on track; concern ended
        kpi("c", None, "common_cause"),  # improvement ended
        kpi("d", "amber", "improvement_high"),  # closer to trajectory; new improvement
    ],
    [
        deliverable("D1", "overdue", "on_track"),  # newly overdue
        deliverable("D2", "complete", late=True),  # completed late
        deliverable("D3", "overdue", "delayed"),  # still overdue: no change
        deliverable("D4", "on_track", due="2027-28-Q1"),  # new
    ],
)


def test_every_kind_of_change_is_listed():
    found = changes.changes_between(PREVIOUS, CURRENT)
    assert list(found.columns) == changes.COLUMNS
    kinds = set(zip(found["Item"], found["Kind"]))
    assert kinds == {
        ("a", "became off track"),
        ("a", "new special-cause concern"),
        ("b", "back on track"),
        ("b", "special-cause concern ended"),
        ("c", "special-cause improvement ended"),
        ("d", "closer to trajectory"),
        ("d", "new special-cause improvement"),
        ("D1", "newly overdue"),
        ("D2", "completed late"),
        ("D4", "new deliverable"),
    }


def test_exception_first():
    found = changes.changes_between(PREVIOUS, CURRENT)
    levels = found["Level"].tolist()
    assert levels == sorted(levels, key=changes.LEVELS.index)
    attention = found[found["Level"] == "attention"]
    assert attention["Item"].tolist() == ["a", "a", "D1"]  # KPIs in board order, then deliverables
    assert found["Level"].iloc[-1] == "fine"
    sentences = changes.change_sentences(found, "2026-27-Q1")
    assert sentences[0] == "10 changes since the 2026/27 Q1 pack, 3 needing the board's attention."
    assert sentences[1] == (
        "A: became off track, now off track against the trajectory of 100.0% (was on track in the 2026/27 Q1 pack)."
    )
    assert "Deliverable D1 (Milestone D1): newly overdue (due 2026/27 Q1, was on track)." in sentences
    entries = changes.for_manifest(found)
    assert entries[0] == {
        "level": "attention",
        "kind": "became off track",
        "item": "a",
        "label": "A",
        "before": "on track",
        "now": "off track",
        "sentence": sentences[1],
    }
    assert changes.for_manifest(None) is None


def test_nothing_changed_and_no_previous_pack_are_one_line():
    same = changes.changes_between(PREVIOUS, {**PREVIOUS, "quarter_id": "2026-27-Q2"})
    assert same.empty
    assert changes.change_sentences(same, "2026-27-Q1") == [
        "No RAG rating, special-cause signal or deliverable status changed since the 2026/27 Q1 pack."
    ]
    assert changes.changes(None, None) is None
    assert len(changes.change_sentences(None)) == 1


def scorecard_and_record(data, quarter):
    kpis = section.compute_kpis(data, parse(quarter), "QWU", load_targets(), BASELINE)
    return kpis.scorecard, record(data, quarter)


def test_a_rag_change_from_this_pack_scorecard_appears():
    data = sample()
    scorecard, current = scorecard_and_record(data, "2023-24-Q2")
    rated = next(k for k in current["kpis"] if k["rag"] is not None)
    # the previous pack rated it otherwise (its record as kept in manifest.json)
    previous = json.loads(json.dumps(current))
    previous.update(quarter="2023/24 Q1", quarter_id="2023-24-Q1")
    other = "red" if rated["rag"] == "green" else "green"
    pack_record.kpi_entries(previous)[rated["kpi"]]["rag"] = other
    found = changes.changes(previous, scorecard)
    row = found[found["Item"] == rated["kpi"]].iloc[0]
    assert (row["Before"], row["Now"]) == (changes.RAG_WORDS[other], changes.RAG_WORDS[rated["rag"]])
    assert row["Level"] == ("attention" if rated["rag"] == "red" else "fine")
    assert row["Sentence"].startswith(rated["label"] + ": ")
    assert len(found) == 1  # nothing else changed


def test_deliverables_from_the_table():
    data = make_data(
        deliverables=[
            status("x", "2020-21-Q1", "2020-21-Q1", "on_track"),
            status("x", "2020-21-Q1", "2020-21-Q2", "on_track"),
            status("y", "2020-21-Q4", "2020-21-Q1", "on_track"),
            status("y", "2020-21-Q4", "2020-21-Q2", "complete"),
        ]
    )
    before = kpi_deliverables.deliverables_rag(data, "2020-21-Q1", "QWU")
    now = kpi_deliverables.deliverables_rag(data, "2020-21-Q2", "QWU")
    empty = section.compute_kpis(data, parse("2020-21-Q1"), "QWU", {}, BASELINE).scorecard.iloc[0:0]
    previous = pack_record.build_record("2020-21-Q1", "QWU", empty, {}, deliverables=before)
    found = changes.changes(previous, empty, now, quarter="2020-21-Q2")
    assert found[["Item", "Kind", "Level"]].values.tolist() == [
        ["x", "newly overdue", "attention"],
        ["y", "completed", "fine"],
    ]


def test_signal_sentences():
    found = changes.changes_between(PREVIOUS, CURRENT)
    sentence = found[(found["Item"] == "a") & (found["Kind"] == "new special-cause concern")]["Sentence"].iloc[0]
    assert sentence == (
        "A: new special cause concern (lower values); the 2026/27 Q1 pack showed common cause variation."
    )
