"""The innovation detail frames' all_icbs (helpers.icb_frames) on edge cases the harness data
(tests/test_icb_frames.py) misses: same-day stage changes listed out of stage order, movements on
one day ordered by id, an innovation id led in two ICBs (its benefits count for both), fractional
and small patient benefits (disclosure), a Pharmacy Alignment innovation named in lower case, an
ICB absent from the data and no innovations table. Each ICB's rows must equal its frame on its own
extract, as its pack reads it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from test_icb_frames import PARAMS, assert_same_frame
from test_peer_counts import EARLIER, QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames
from helpers.extract import icb_tables, icbs_in
from helpers.kpi_common import MissingTableError
from helpers.loading import Data

RULE_NAMES = [rule.name for rule in icb_frames.RULES if rule.name.startswith("kpi_innovation.")]
ABSENT = "QZZ"  # an ICB code with no rows anywhere


def _organisation_of(data: Data, icb: str) -> str:
    orgs = data.organisations
    return str(orgs.loc[orgs["IcbCode"] == icb, "OrganisationCode"].iloc[0])


def _typed(rows: list[dict], like: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=like.columns).astype(like.dtypes.to_dict())


@pytest.fixture(scope="module")
def edged(national):  # noqa: F811 - the fixture imported above
    qe1, qox = _organisation_of(national, "QE1"), _organisation_of(national, "QOX")

    def change(innovation, stage, day, lead, name=None):
        return {
            "InnovationId": innovation,
            "InnovationName": name or f"Edge innovation {innovation}",
            "Stage": stage,
            "StageDate": pd.Timestamp(day),
            "LeadOrganisationCode": lead,
        }

    pharmacy = "pharmacy clinical trials alignment (edge)"
    added = [
        # Same-day changes listed out of stage order; a third change later in the quarter.
        change("EDGE-2", "assessed", "2026-08-03", qe1, pharmacy),
        change("EDGE-2", "identified", "2026-08-03", qe1, pharmacy),
        change("EDGE-2", "piloting", "2026-09-01", qe1, pharmacy),
        # The same day as EDGE-2's first changes, listed after it, its id sorting before it.
        change("EDGE-1", "identified", "2026-08-03", qe1),
        # One id led in two ICBs, with different histories.
        change("SHARED", "identified", "2025-11-02", qox),
        change("SHARED", "adopting", "2026-07-15", qox),
        change("SHARED", "identified", "2026-08-20", qe1),
        # A change after the quarter reported (ignored).
        change("EDGE-1", "assessed", "2026-11-03", qe1),
    ]
    innovations = pd.concat([national.innovations, _typed(added, national.innovations)], ignore_index=True)

    def benefit(quarter, innovation, measure, unit, value):
        return {"Quarter": quarter, "InnovationId": innovation, "BenefitMeasure": measure, "Unit": unit, "Value": value}

    extra = [
        benefit("2026-27-Q2", "SHARED", "Edge patients", "patients", 3.4),  # 3 people: suppressed
        benefit("2026-27-Q1", "SHARED", "Edge patients", "patients", 9.6),
        benefit("2026-27-Q2", "EDGE-2", "Edge patients", "patients", 2.6),
        benefit("2025-26-Q3", "EDGE-2", "Edge savings", "GBP", 0.1),
        benefit("2025-26-Q3", "EDGE-2", "Edge savings", "GBP", 0.2),
        benefit("2026-27-Q3", "EDGE-2", "Edge savings", "GBP", 50.0),  # after the quarter
    ]
    benefits = pd.concat([national.innovation_benefits, _typed(extra, national.innovation_benefits)], ignore_index=True)
    return dataclasses.replace(national, innovations=innovations, innovation_benefits=benefits)


def _per_icb(rule, data, quarter, icb):
    try:
        return rule.compute(data, quarter, icb, **PARAMS)
    except Exception as exc:  # noqa: BLE001 - compared with the pass
        return exc


def _assert_every_icb(data: Data, quarter: str, name: str) -> pd.DataFrame:
    rule = icb_frames.BY_NAME[name]
    codes = icbs_in(data) + [ABSENT]
    frame = rule.compute_all(data, quarter, codes, **PARAMS)
    assert frame.columns[0] == "IcbCode"
    assert list(dict.fromkeys(frame["IcbCode"])) == [i for i in codes if (frame["IcbCode"] == i).any()]
    for icb in codes:
        expected = _per_icb(rule, Data(**icb_tables(data, icb)), quarter, icb)
        got = icb_frames.frame_of(frame, icb)
        if isinstance(expected, Exception):
            assert got is None, f"{name} for {icb}: its pack raises {expected!r}"
        elif got is None:
            assert expected.empty, f"{name} for {icb}: no rows from the pass"
        else:
            assert_same_frame(got, expected, f"{name} for {icb}")
    return frame


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("name", RULE_NAMES)
def test_edge_cases_equal_each_icbs_extract(edged, quarter, name):
    _assert_every_icb(edged, quarter, name)


def test_the_edge_cases_are_exercised(edged):
    moves = icb_frames.frame_of(_assert_every_icb(edged, QUARTER, "kpi_innovation.stage_movements"), "QE1")
    edge = moves[moves["InnovationId"].str.startswith("EDGE")]
    assert list(zip(edge["InnovationId"], edge["FromStage"].fillna("-"), edge["ToStage"])) == [
        ("EDGE-1", "-", "identified"),
        ("EDGE-2", "-", "identified"),
        ("EDGE-2", "identified", "assessed"),
        ("EDGE-2", "assessed", "piloting"),
    ]
    shared = moves[moves["InnovationId"] == "SHARED"]
    assert list(shared["FromStage"].fillna("-")) == ["-"]  # QOX's changes are not QE1's history

    benefits = _assert_every_icb(edged, QUARTER, "kpi_innovation.benefits_by_measure")
    patients = benefits[benefits["BenefitMeasure"] == "Edge patients"].set_index("IcbCode")
    assert patients.loc["QOX", "InQuarter"] == "*" and patients.loc["QOX", "Cumulative"] == 15  # 3 + 10
    assert patients.loc["QE1", "InQuarter"] == "*"  # 3 (SHARED) + 3 (EDGE-2) = 6
    pharmacy = icb_frames.frame_of(
        _assert_every_icb(edged, QUARTER, "kpi_innovation.pharmacy_alignment_benefits"), "QE1"
    )
    assert "Edge savings" in set(pharmacy["BenefitMeasure"])  # matched in lower case

    pipeline = _assert_every_icb(edged, QUARTER, "kpi_innovation.pipeline_by_stage")
    assert (pipeline.loc[pipeline["IcbCode"] == ABSENT, "Innovations"] == 0).all()


@pytest.mark.parametrize("name", RULE_NAMES)
def test_without_the_innovations_table(edged, name):
    """benefits_by_measure gives every ICB no benefits; pharmacy_alignment_benefits and the
    pipeline's frames fail for every pack, so the pass leaves them to each pack."""
    data = dataclasses.replace(edged, innovations=None)
    rule = icb_frames.BY_NAME[name]
    if name == "kpi_innovation.benefits_by_measure":
        assert _assert_every_icb(data, QUARTER, name).empty
        return
    with pytest.raises(MissingTableError):
        rule.compute_all(data, QUARTER, icbs_in(data), **PARAMS)
    with pytest.raises(MissingTableError):
        rule.compute(Data(**icb_tables(data, "QE1")), QUARTER, "QE1", **PARAMS)
