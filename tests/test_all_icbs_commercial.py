"""The commercial KPIs' ``all_icbs`` on edge cases the shared harness (tests/test_icb_histories.py)
does not reach: each ICB's values must equal the series its pack computes from its own extract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from test_icb_frames import PARAMS as FRAME_PARAMS, assert_same_frame
from test_icb_histories import PARAMS, _assert_same, _expected
from test_peer_counts import QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames
from helpers.extract import icb_tables, icbs_in
from helpers.kpis import KPIS
from helpers.loading import Data
from helpers.quarters import parse
from helpers.targets import Target

COMMERCIAL_KPIS = [
    "commercial_pct_open_studies",
    "commercial_participants",
    "commercial_income",
    "setup_median_days",
    "rtt_pct_on_track",
]


def _check_against_extracts(data: Data, kpi_ids=COMMERCIAL_KPIS) -> None:
    codes = icbs_in(data)
    extracts = {icb: Data(**icb_tables(data, icb)) for icb in codes}
    for kpi_id in kpi_ids:
        kpi = KPIS[kpi_id]
        frame = kpi.all_icbs(data, QUARTER, codes, **PARAMS)
        for icb in codes:
            expected = _expected(kpi, extracts[icb], QUARTER, icb)
            _assert_same(frame[frame["IcbCode"] == icb], expected, f"{kpi_id} for {icb}")


def _check_frames_against_extracts(data: Data, targets=FRAME_PARAMS["targets"]) -> None:
    """Every commercial detail frame of the pass equals each ICB's own (tests/test_icb_frames.py)."""
    params = {**FRAME_PARAMS, "targets": targets}
    codes = icbs_in(data)
    extracts = {icb: Data(**icb_tables(data, icb)) for icb in codes}
    for rule in icb_frames.RULES:
        if not rule.name.startswith("kpi_commercial."):
            continue
        frame = rule.compute_all(data, QUARTER, codes, **params)
        for icb in codes:
            got = icb_frames.frame_of(frame, icb)
            try:
                expected = rule.compute(extracts[icb], QUARTER, icb, **params)
            except ValueError:
                assert got is None, f"{rule.name} for {icb}: its pack raises, the pass gave rows"
                continue
            assert got is not None, f"{rule.name} for {icb}: no rows from the pass"
            assert_same_frame(got, expected, f"{rule.name} for {icb}")


def test_empty_tables(national):  # noqa: F811
    """No recruitment, study or finance rows at all."""
    empty = dataclasses.replace(
        national,
        recruitment=national.recruitment.iloc[0:0],
        studies=national.studies.iloc[0:0],
        finance=national.finance.iloc[0:0],
    )
    _check_against_extracts(empty)
    _check_frames_against_extracts(empty)


def _without_a_baseline_quarter(data: Data, icb: str) -> Data:
    """``data`` with no finance row (of any stream) of ``icb`` in 2022/23 Q2: its baseline is unknown."""
    orgs = data.organisations
    icb_orgs = set(orgs.loc[orgs["IcbCode"] == icb, "OrganisationCode"].astype(str))
    finance = data.finance
    drop = finance["OrganisationCode"].astype(str).isin(icb_orgs) & (finance["Quarter"].astype(str) == "2022-23-Q2")
    assert drop.any()
    return dataclasses.replace(data, finance=finance[~drop.to_numpy(dtype=bool)])


def test_income_of_an_icb_without_its_baseline_year(national):  # noqa: F811
    """QHG lacks a quarter of the baseline year: NaN baseline and target for it, the others' drawn."""
    data = _without_a_baseline_quarter(national, "QHG")
    frame = icb_frames.BY_NAME["kpi_commercial.commercial_income"].compute_all(
        data, QUARTER, icbs_in(data), **FRAME_PARAMS
    )
    qhg = frame[frame["IcbCode"] == "QHG"]
    assert qhg["BaselineGBP"].isna().all() and qhg["TargetGBP"].isna().all()
    assert frame.loc[frame["IcbCode"] == "QWU", "TargetGBP"].notna().any()
    _check_frames_against_extracts(data)


def test_income_trajectory_that_cannot_be_drawn(national):  # noqa: F811
    """A target with its baseline fixed in the file cannot take an ICB's derived baseline: each pack
    with a baseline raises, so the pass leaves those ICBs out and keeps QHG's (no baseline)."""
    derived = FRAME_PARAMS["targets"]["commercial_income"]
    fixed = Target.model_validate(
        {**derived.model_dump(), "baseline": {"quarter": derived.baseline.quarter, "value": 1e6}, "target": 2e6}
    )
    targets = {**FRAME_PARAMS["targets"], "commercial_income": fixed}
    data = _without_a_baseline_quarter(national, "QHG")
    frame = icb_frames.BY_NAME["kpi_commercial.commercial_income"].compute_all(
        data, QUARTER, icbs_in(data), targets=targets
    )
    assert set(frame["IcbCode"]) == {"QHG"}
    _check_frames_against_extracts(data, targets)


def test_an_icb_whose_data_start_later(national):  # noqa: F811
    """QHG's periodic tables begin two quarters before the quarter reported: its extract's history
    (hence its study-count history) starts there, not at the whole folder's first quarter."""
    late = pd.Timestamp(parse(QUARTER).shift(-1).start)
    orgs = national.organisations
    qhg_orgs = set(orgs.loc[orgs["IcbCode"] == "QHG", "OrganisationCode"].astype(str))

    def cut(frame, column, by_organisation):
        codes = frame[column].astype(str)
        ours = codes.isin(qhg_orgs) if by_organisation else codes == "QHG"
        if "Month" in frame.columns:
            early = frame["Month"] < late
        else:
            early = frame["Quarter"].map(lambda q: parse(q).ordinal) < parse(QUARTER).shift(-1).ordinal
        return frame[~(ours & early).to_numpy(dtype=bool)]

    data = dataclasses.replace(
        national,
        recruitment=cut(national.recruitment, "OrganisationCode", True),
        finance=cut(national.finance, "OrganisationCode", True),
        workforce=cut(national.workforce, "OrganisationCode", True),
        recruitment_imd=cut(national.recruitment_imd, "IcbCode", False),
        recruitment_ethnicity=cut(national.recruitment_ethnicity, "IcbCode", False),
        engagement=cut(national.engagement, "IcbCode", False),
        deliverables=national.deliverables.iloc[0:0],  # its DueQuarter reaches back too
    )
    frame = KPIS["commercial_pct_open_studies"].all_icbs(data, QUARTER, ["QHG", "QWU"], **PARAMS)
    assert (frame["IcbCode"] == "QHG").sum() == 2 < (frame["IcbCode"] == "QWU").sum()
    _check_against_extracts(data)


def test_only_the_study_tables_loaded(national):  # noqa: F811
    """No periodic table: study-count histories start at the ICB's earliest study opening."""
    data = Data(organisations=national.organisations, studies=national.studies)
    frame = KPIS["commercial_pct_open_studies"].all_icbs(data, QUARTER, icbs_in(data), **PARAMS)
    assert frame["Value"].notna().any()
    _check_against_extracts(data, ["commercial_pct_open_studies", "setup_median_days"])


def test_numerator_and_denominator_are_the_comparable_counts(national):  # noqa: F811
    codes = icbs_in(national)
    for kpi_id in ("commercial_pct_open_studies", "rtt_pct_on_track"):
        kpi = KPIS[kpi_id]
        frame = kpi.all_icbs(national, QUARTER, codes, **PARAMS)
        for icb in codes:
            counts = kpi.comparable.counts(national, QUARTER, icb)
            got = frame[frame["IcbCode"] == icb]
            assert list(got["Quarter"]) == list(counts["Quarter"])
            for column in ("Numerator", "Denominator"):
                np.testing.assert_array_equal(got[column].to_numpy(), counts[column].to_numpy(), err_msg=kpi_id)
