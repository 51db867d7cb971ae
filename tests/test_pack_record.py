"""helpers.pack_record: the record of a pack's headline figures, and finding the previous pack."""

import json

import pytest
from backtest.frames import make_data, study

from helpers import disclosure, pack_record, section
from helpers.quarters import BASELINE_PERIOD, parse, parse_range
from helpers.targets import load_targets

BASELINE = tuple(q.id for q in parse_range(BASELINE_PERIOD))


def rec(month, n, study_id="a"):
    return {"StudyId": study_id, "OrganisationCode": "RKB", "Month": month, "Participants": n}


def months(last="2023-09-01"):
    found = [f"{y}-{m:02d}-01" for y in range(2019, 2024) for m in range(1, 13)]
    return [m for m in found if "2019-04-01" <= m <= last]


def sample(extra=None, last="2023-09-01"):
    rows = [rec(m, 40 + (i % 3)) for i, m in enumerate(months(last))]
    return make_data(
        studies=[study("a", "2019-04-01"), study("b", "2019-04-01"), study("c", "2021-04-01", cross=True)],
        recruitment=rows + list(extra or []),
    )


def record(data, quarter):
    histories = {}
    kpis = section.compute_kpis(data, parse(quarter), "QWU", load_targets(), BASELINE, histories=histories)
    return pack_record.record_of(data, quarter, "QWU", kpis, histories)


def publish(out, icb, quarter_id, content):
    folder = out / icb / quarter_id
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def test_suppressed_marker_is_the_disclosure_one():
    assert pack_record.SUPPRESSED == disclosure.SUPPRESSED


def test_record_keeps_each_kpi_history_rag_icons_and_counts():
    kept = record(sample(), "2023-24-Q2")
    assert kept["format"] == pack_record.FORMAT
    assert (kept["icb"], kept["quarter_id"]) == ("QWU", "2023-24-Q2")
    json.dumps(kept)  # JSON-able as it is
    entries = pack_record.kpi_entries(kept)
    people = entries["participants"]
    assert people["people"] and all(p["value"] is None or p["value"] % 5 == 0 for p in people["history"])
    assert people["history"][-1]["quarter"] == "2023-24-Q2"
    assert people["value"] == people["history"][-1]["value"]
    assert {"rag", "on_track", "variation", "assurance", "trial_limits", "spc_from"} <= set(people)
    # a comparable KPI keeps its numerator and denominator
    share = entries["commercial_pct_open_studies"]["history"][-1]
    assert share["numerator"] is not None and share["denominator"] == 3
    # a KPI rated against a target says whether it is on track
    rated = [e for e in entries.values() if e["rag"] is not None]
    assert rated and all(e["on_track"] == (e["rag"] == "green") for e in rated)
    assert kept["deliverables"] is None  # not loaded


def test_given_counts_and_deliverables_are_used_instead_of_computed():
    """The pack of a many-ICB folder gives the record the counts and deliverables its folder's one
    pass computed (helpers.icb_histories.counts_of, helpers.icb_frames): those are what it keeps;
    deliverables given are kept only when the pack loaded the deliverables table."""
    import pandas as pd

    data = sample()
    histories = {}
    kpis = section.compute_kpis(data, parse("2023-24-Q2"), "QWU", load_targets(), BASELINE, histories=histories)
    quarters = [str(q) for q in histories["commercial_pct_open_studies"].index]
    given = {"commercial_pct_open_studies": pd.DataFrame({"Quarter": quarters, "Numerator": 2.0, "Denominator": 9.0})}
    rag = pd.DataFrame({"DeliverableId": ["D01"], "Deliverable": ["x"], "Owner": ["y"], "DueQuarter": ["2026-27-Q1"]})
    kept = pack_record.record_of(data, "2023-24-Q2", "QWU", kpis, histories, given_counts=given, given_deliverables=rag)
    share = pack_record.kpi_entries(kept)["commercial_pct_open_studies"]["history"][-1]
    assert (share["numerator"], share["denominator"]) == (2.0, 9.0)
    assert kept["deliverables"] is None  # the sample loads no deliverables table


def test_record_marks_special_cause_points():
    data = sample()
    histories = {}
    kpis = section.compute_kpis(data, parse("2023-24-Q2"), "QWU", load_targets(), BASELINE, histories=histories)
    frames = dict(kpis.spc_frames)
    frame = frames["participants"].copy()
    frame.loc[frame.index[-1], "point_type"] = "special_cause_concern"  # the SPC frame's signal
    frames["participants"] = frame
    kept = pack_record.build_record("2023-24-Q2", "QWU", kpis.scorecard, histories, frames)
    signals = {p["quarter"]: p["signal"] for p in pack_record.kpi_entries(kept)["participants"]["history"]}
    assert signals["2023-24-Q2"] == "special_cause_concern"
    assert {s for q, s in signals.items() if q != "2023-24-Q2"} == {None}


def test_histories_frame_one_row_per_kpi_and_quarter():
    kept = record(sample(), "2023-24-Q2")
    frame = pack_record.histories_frame(kept)
    assert len(frame) == sum(len(k["history"]) for k in kept["kpis"])
    assert list(frame.columns)[:4] == ["Kpi", "Label", "Unit", "Quarter"]


def test_no_previous_pack_is_none(tmp_path):
    assert pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2") is None
    # a pack of another quarter is not the previous one
    publish(tmp_path, "QWU", "2022-23-Q4", {"kpis": {"format": 1}})
    assert pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2") is None


def test_previous_quarter_found_in_the_publish_folder(tmp_path):
    kept = record(sample(last="2023-06-01"), "2023-24-Q1")
    folder = publish(tmp_path, "QWU", "2023-24-Q1", {"pack": {}, "kpis": kept})
    found = pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2")
    assert found.folder == folder and found.record == kept and found.quarter.label == "2023/24 Q1"


def test_pack_published_before_records_is_no_previous_pack_unless_named(tmp_path):
    folder = publish(tmp_path, "QWU", "2023-24-Q1", {"pack": {}})
    assert pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2") is None
    with pytest.raises(pack_record.NoRecord, match="manifest.json: holds no record"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2", given=folder)


def test_record_of_another_format_is_a_clear_error_naming_the_file(tmp_path):
    publish(tmp_path, "QWU", "2023-24-Q1", {"kpis": {"format": 99, "kpis": []}})
    with pytest.raises(pack_record.RecordError, match=r"2023-24-Q1/manifest.json: record format 99, this code reads"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2")


def test_unreadable_or_wrong_previous_pack_is_a_clear_error(tmp_path):
    folder = tmp_path / "QWU" / "2023-24-Q1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(pack_record.RecordError, match="manifest.json: not valid JSON"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2")
    with pytest.raises(pack_record.RecordError, match="no such pack folder"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2", given=tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(pack_record.RecordError, match="empty/manifest.json: no such file"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2", given=empty)
    kept = record(sample(last="2023-06-01"), "2023-24-Q1")
    other = publish(tmp_path / "o", "QHG", "2023-24-Q1", {"kpis": {**kept, "icb": "QHG"}})
    with pytest.raises(pack_record.RecordError, match="a pack of ICB QHG, not QWU"):
        pack_record.find_previous(tmp_path, "QWU", "2023/24 Q2", given=other)
    with pytest.raises(pack_record.RecordError, match="not earlier than 2023/24 Q1"):
        pack_record.find_previous(
            tmp_path, "QWU", "2023/24 Q1", given=publish(tmp_path / "s", "QWU", "x", {"kpis": kept})
        )


def test_a_record_file_reads_as_the_record(tmp_path):
    kept = record(sample(last="2023-06-01"), "2023-24-Q1")
    (tmp_path / "record.json").write_text(json.dumps(kept), encoding="utf-8")
    assert pack_record.read_record(tmp_path / "record.json") == kept
