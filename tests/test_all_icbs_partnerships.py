"""all_icbs of the partnerships, innovation and deliverables KPIs on edge cases the harness data
(tests/test_icb_histories.py) misses: an ICB whose periodic data start after the cross-system
count does, an ICB with no periodic rows (nor innovations) at all, an ICB absent from the data,
same-day stage changes, an innovation id led in two ICBs and two statuses of one deliverable in
one quarter. Each ICB's rows must equal its series on its own extract, as its pack reads it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from backtest.frames import make_data, typed
from test_icb_frames import EMPTIED, _without_icb_rows
from test_icb_histories import PARAMS, _assert_same, _expected
from test_peer_counts import QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames, kpi_engagement as ke, kpi_partnerships as kp
from helpers.contract import PERIODIC_TABLES
from helpers.extract import icb_tables, icbs_in
from helpers.kpis import KPIS
from helpers.loading import Data
from helpers.quarters import parse

KPI_IDS = [
    "cross_system_studies",
    "joint_appointments",
    "research_active_staff",
    "innovations_adopted",
    "deliverables_on_track_pct",
]
LATE_START = "2024/25 Q1"  # QHG's periodic data start here, after the cross-system count's start
ABSENT = "QZZ"  # an ICB code with no rows anywhere


def _row_icbs(data: Data, name: str) -> pd.Series:
    frame = getattr(data, name)
    if "IcbCode" in frame.columns:
        return frame["IcbCode"].astype(str)
    icb_of = dict(zip(data.organisations["OrganisationCode"].astype(str), data.organisations["IcbCode"].astype(str)))
    column = "LeadOrganisationCode" if "LeadOrganisationCode" in frame.columns else "OrganisationCode"
    return frame[column].astype(str).map(icb_of)


@pytest.fixture(scope="module")
def edged(national):  # noqa: F811 - the fixture imported above
    changes = {}
    late = pd.Timestamp(parse(LATE_START).start)
    for name in PERIODIC_TABLES:
        frame = getattr(national, name)
        icbs = _row_icbs(national, name).to_numpy()
        # Every month and quarter column counts towards the start (a deliverable's DueQuarter too).
        dated = [frame[c] for c in ("Month",) if c in frame.columns]
        dated += [frame[c].map(lambda q: parse(q).start) for c in ("Quarter", "DueQuarter") if c in frame.columns]
        early = (icbs == "QHG") & np.any([(pd.to_datetime(d) < late).to_numpy() for d in dated], axis=0)
        changes[name] = frame[~early & (icbs != "QF7")].reset_index(drop=True)

    innovations = national.innovations[(_row_icbs(national, "innovations") != "QF7").to_numpy()].copy()
    qe1 = innovations.index[(_row_icbs(national, "innovations").loc[innovations.index] == "QE1").to_numpy()]
    # A later stage change on the same day as QE1's first innovation's latest change.
    first_id = innovations.loc[qe1[0], "InnovationId"]
    last = innovations[innovations["InnovationId"] == first_id].sort_values("StageDate").iloc[[-1]].copy()
    last["Stage"] = "business_as_usual" if last["Stage"].iloc[0] != "business_as_usual" else "stopped"
    # QE1's second innovation takes the id of a QOX-led one: one id, two ICBs' innovations.
    qox_id = innovations.loc[(_row_icbs(national, "innovations").loc[innovations.index] == "QOX").to_numpy()]
    second = innovations["InnovationId"] == innovations.loc[qe1, "InnovationId"].unique()[1]
    innovations.loc[second, "InnovationId"] = qox_id["InnovationId"].iloc[0]
    changes["innovations"] = pd.concat([innovations, last], ignore_index=True)
    changes["innovation_benefits"] = national.innovation_benefits[
        national.innovation_benefits["InnovationId"].isin(set(changes["innovations"]["InnovationId"]))
    ].reset_index(drop=True)

    # QE1: a deliverable's status reported twice in one quarter, the second differing (it holds).
    deliverables = changes["deliverables"]
    in_quarter = deliverables["Quarter"].map(lambda q: parse(q) == parse(QUARTER)).to_numpy(dtype=bool)
    row = deliverables[(deliverables["IcbCode"] == "QE1").to_numpy() & in_quarter]
    twice = row.iloc[[0]].copy()
    twice["Status"] = "at_risk" if twice["Status"].iloc[0] != "at_risk" else "on_track"
    changes["deliverables"] = pd.concat([deliverables, twice], ignore_index=True)
    return dataclasses.replace(national, **changes)


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_edge_cases_equal_each_icbs_extract(edged, kpi_id):
    kpi = KPIS[kpi_id]
    codes = icbs_in(edged) + [ABSENT]
    frame = kpi.all_icbs(edged, QUARTER, codes, **PARAMS)
    assert frame["Value"].dtype == "float64"
    assert list(dict.fromkeys(frame["IcbCode"])) == codes
    for icb in codes:
        extract = Data(**icb_tables(edged, icb))
        _assert_same(frame[frame["IcbCode"] == icb], _expected(kpi, extract, QUARTER, icb), f"{kpi_id} for {icb}")


def test_the_edge_cases_are_exercised(edged):
    def rows(kpi_id, icb):
        frame = KPIS[kpi_id].all_icbs(edged, QUARTER, [icb, ABSENT], **PARAMS)
        return frame[frame["IcbCode"] == icb]

    assert rows("cross_system_studies", "QHG")["Quarter"].iloc[0] == parse(LATE_START).id
    assert rows("cross_system_studies", "QHG")["Value"].iloc[0] > 0  # openings before its data counted
    assert rows("joint_appointments", "QF7")["Quarter"].tolist() == [parse(QUARTER).id]
    assert rows("deliverables_on_track_pct", "QF7")["Value"].tolist() == [0.0]  # nothing listed: 0, as the series
    assert np.isfinite(rows("innovations_adopted", ABSENT)["Value"]).all()


# ---------------------------------------------------------------------------------------------
# The detail frames' all_icbs (helpers.icb_frames): what tests/test_icb_frames.py does not reach
# ---------------------------------------------------------------------------------------------
def _staff(quarter, org, active, joint):
    return {"Quarter": quarter, "OrganisationCode": org, "ResearchActiveStaff": active, "JointAppointments": joint}


def test_workforce_and_engagement_frames_on_small_counts():
    """Small counts (secondary suppression, a suppressed total), an ICB with a negative count (its
    frame raises: left out), an ICB with no workforce rows in the quarter (left to its pack)."""
    workforce = [
        _staff("2020-21-Q1", "RKB", 50, 3),
        _staff("2020-21-Q2", "RKB", 12, 3),
        _staff("2020-21-Q2", "RJC", 9, 2),
        _staff("2020-21-Q2", "M86001", 0, 0),
        _staff("2020-21-Q2", "M86002", 40, 1),
        _staff("2020-21-Q1", "RRK", 500, 1),  # QHL: no row in the quarter
    ]
    engagement = [
        {"IcbCode": "QWU", "Quarter": "2020-21-Q1", "Measure": "ppie_contributors", "Value": 3},
        {"IcbCode": "QWU", "Quarter": "2020-21-Q2", "Measure": "events", "Value": 2},
        {"IcbCode": "QHL", "Quarter": "2020-21-Q2", "Measure": "event_attendance", "Value": 4},
    ]
    workforce, engagement = typed("workforce", workforce), typed("engagement", engagement)
    # QHL's negative counts (loading rejects them; given directly, disclosure control raises)
    workforce.loc[workforce["OrganisationCode"] == "RRK", "JointAppointments"] = -1
    engagement.loc[engagement["IcbCode"] == "QHL", "Value"] = -4
    data = make_data(workforce=workforce, engagement=engagement)
    quarter, codes = "2020-21-Q2", ["QHL", "QWU", ABSENT]
    checked = 0
    for rule in (kp.workforce_by_organisation, kp.research_active_staff, kp.joint_appointments, ke.engagement):
        frame = icb_frames.rule_of(rule).compute_all(data, quarter, codes, **PARAMS)
        for icb in codes:
            got = icb_frames.frame_of(frame, icb)
            try:
                expected = rule(data, quarter, icb)
            except ValueError:
                assert got is None, f"{rule.__name__} for {icb}: its own frame raises"
                continue
            if got is None:
                assert rule is kp.workforce_by_organisation and icb != "QWU", f"{rule.__name__} for {icb}"
                continue
            pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=f"{rule.__name__} for {icb}")
            checked += 1
    assert checked >= 5
    by_organisation = kp.workforce_by_organisation(data, quarter, "QWU")
    assert (by_organisation == "*").sum().sum() >= 3  # a cell hidden against the total


def test_an_icb_whose_frame_has_other_dtypes_is_left_to_its_pack(national):  # noqa: F811
    """QF7 with its organisations only: its cross-system count at the due quarter is unknown (None,
    object columns) and its workforce breakdown is a lone total row without a quarter (object text
    columns); the other ICBs' frames have int64, bool and text columns, so the pass leaves QF7 out."""
    data = _without_icb_rows(national, EMPTIED)
    codes = icbs_in(data)
    for rule, quarter in ((kp.cross_system_status, QUARTER), (kp.workforce_by_organisation, QUARTER)):
        frame = icb_frames.rule_of(rule).compute_all(data, quarter, codes, **PARAMS)
        assert list(dict.fromkeys(frame["IcbCode"])) == [icb for icb in codes if icb != EMPTIED]
        own = icb_frames.rule_of(rule).compute(Data(**icb_tables(data, EMPTIED)), quarter, EMPTIED, **PARAMS)
        other = icb_frames.frame_of(frame, codes[0])
        assert (own.dtypes != other.dtypes).any(), rule.__name__
