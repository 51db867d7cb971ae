"""The deliverables detail frames' all_icbs (helpers.icb_frames) on edge cases the harness data
(tests/test_icb_frames.py) misses: a status reported twice in one quarter (the later row holds),
a deliverable complete, then at risk, then complete again (completed when first reported
complete), one deliverable id in two ICBs, an ICB with no deliverables and one absent from the
data. Each ICB's rows must equal its frame on its own extract, as its pack reads it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from test_all_icbs_innovation import ABSENT, _assert_every_icb, _typed
from test_peer_counts import EARLIER, QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames
from helpers.loading import Data
from helpers.quarters import parse

RULE_NAMES = [rule.name for rule in icb_frames.RULES if rule.name.startswith("kpi_deliverables.")]


def _status(icb, deliverable, due, quarter, value):
    return {
        "IcbCode": icb,
        "DeliverableId": deliverable,
        "Deliverable": f"Edge milestone {deliverable}",
        "Owner": "Lead",
        "DueQuarter": due,
        "Quarter": quarter,
        "Status": value,
    }


@pytest.fixture(scope="module")
def edged(national):  # noqa: F811 - the fixture imported above
    deliverables: pd.DataFrame = national.deliverables
    # QE1: a deliverable's status reported twice in the quarter, the second differing (it holds).
    in_quarter = deliverables["Quarter"].map(lambda q: parse(q) == parse(QUARTER)).to_numpy(dtype=bool)
    twice = deliverables[(deliverables["IcbCode"] == "QE1").to_numpy() & in_quarter].iloc[[0]].copy()
    twice["Status"] = "at_risk" if twice["Status"].iloc[0] != "at_risk" else "on_track"
    added = [
        _status("QOX", "DX", "2025-26-Q1", "2025-26-Q1", "complete"),
        _status("QOX", "DX", "2025-26-Q1", "2025-26-Q2", "at_risk"),
        _status("QOX", "DX", "2025-26-Q1", "2026-27-Q1", "complete"),
        _status("QWU", "DX", "2027-28-Q1", "2025-26-Q4", "delayed"),
        _status("QWU", "DX", "2027-28-Q1", "2026-27-Q3", "complete"),  # after the quarter
    ]
    kept = deliverables[(deliverables["IcbCode"] != "QF7").to_numpy()]  # QF7: no deliverables
    changed = pd.concat([kept, twice, _typed(added, deliverables)], ignore_index=True)
    return dataclasses.replace(national, deliverables=changed)


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("name", RULE_NAMES)
def test_edge_cases_equal_each_icbs_extract(edged, quarter, name):
    _assert_every_icb(edged, quarter, name)


def test_the_edge_cases_are_exercised(edged):
    rag = _assert_every_icb(edged, QUARTER, "kpi_deliverables.deliverables_rag")
    dx = rag[rag["DeliverableId"] == "DX"].set_index("IcbCode")
    assert dx.loc["QOX", "CompletedQuarter"] == "2025-26-Q1" and not dx.loc["QOX", "Late"]
    assert dx.loc["QWU", "Rag"] == "at_risk"
    assert not (rag["IcbCode"] == "QF7").any()
    summary = _assert_every_icb(edged, QUARTER, "kpi_deliverables.deliverables_summary")
    for icb in ("QF7", ABSENT):  # every RAG listed with none: 0, no share
        rows = summary[summary["IcbCode"] == icb]
        assert list(rows["Deliverables"]) == [0, 0, 0, 0] and rows["Pct"].isna().all()


def test_without_the_deliverables_table(edged):
    data = dataclasses.replace(edged, deliverables=None)
    for name in RULE_NAMES:
        with pytest.raises(ValueError):
            icb_frames.BY_NAME[name].compute_all(data, QUARTER, ["QE1"])
        with pytest.raises(ValueError):
            icb_frames.BY_NAME[name].compute(Data(organisations=data.organisations), QUARTER, "QE1")
