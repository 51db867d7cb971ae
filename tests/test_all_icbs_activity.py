"""The research activity KPIs' all_icbs beyond the harness (tests/test_icb_histories.py): the GP
practices history's Numerator and Denominator equal the comparable counts quarter by quarter; with
no periodic table loaded, study histories start at each ICB's earliest opening; an ICB with no
recruitment rows at all; the detail frames (helpers.icb_frames) on studies opening or closing on a
quarter's last day, never opened, or with no care setting or specialty."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from test_icb_frames import PARAMS as FRAME_PARAMS, assert_same_frame
from test_icb_histories import PARAMS, _assert_same, _expected
from test_peer_counts import EARLIER, QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames
from helpers.contract import PERIODIC_TABLES
from helpers.extract import icbs_in
from helpers.kpis import REGISTRY
from helpers.quarters import parse

ACTIVITY = ["studies_open_pct_precovid", "new_studies", "recruiting_organisations", "gp_practices_recruiting_pct"]


def _kpi(kpi_id):
    return next(k for k in REGISTRY if k.id == kpi_id)


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
def test_gp_practices_history_counts_equal_the_comparable_counts(national, quarter):  # noqa: F811
    kpi = _kpi("gp_practices_recruiting_pct")
    frame = kpi.all_icbs(national, quarter, icbs_in(national), **PARAMS)
    for icb in icbs_in(national):
        got = frame[frame["IcbCode"] == icb]
        counts = kpi.comparable.counts(national, quarter, icb)
        counts = counts.iloc[: len(got)]  # quarters after the one reported left out
        assert list(got["Quarter"]) == list(counts["Quarter"]), icb
        for column in ("Numerator", "Denominator"):
            np.testing.assert_array_equal(got[column].to_numpy(), counts[column].to_numpy(), err_msg=f"{icb} {column}")


@pytest.mark.parametrize("kpi_id", ["studies_open_pct_precovid", "new_studies"])
def test_no_periodic_table_starts_at_each_icbs_earliest_opening(national, kpi_id):  # noqa: F811
    # QF7's studies opened before April 2016 left out, so the ICBs' starts differ.
    organisations = national.organisations
    qf7 = set(organisations.loc[organisations["IcbCode"] == "QF7", "OrganisationCode"].astype(str))
    studies = national.studies
    early = studies["LeadOrganisationCode"].astype(str).isin(qf7) & (studies["ActualOpeningDate"] < "2016-04-01")
    studies_only = dataclasses.replace(national, studies=studies[~early], **{t: None for t in PERIODIC_TABLES})
    kpi = _kpi(kpi_id)
    frame = kpi.all_icbs(studies_only, QUARTER, icbs_in(national), **PARAMS)
    assert frame.groupby("IcbCode")["Quarter"].first().nunique() == 2
    for icb in icbs_in(national):
        _assert_same(frame[frame["IcbCode"] == icb], _expected(kpi, studies_only, QUARTER, icb), f"{kpi_id} {icb}")


@pytest.mark.parametrize("kpi_id", ["new_studies", "recruiting_organisations", "gp_practices_recruiting_pct"])
def test_an_icb_with_no_recruitment_rows(national, kpi_id):  # noqa: F811
    organisations = national.organisations
    qhg = set(organisations.loc[organisations["IcbCode"] == "QHG", "OrganisationCode"].astype(str))
    recruitment = national.recruitment[~national.recruitment["OrganisationCode"].astype(str).isin(qhg)]
    data = dataclasses.replace(national, recruitment=recruitment)
    kpi = _kpi(kpi_id)
    frame = kpi.all_icbs(data, QUARTER, icbs_in(national), **PARAMS)
    for icb in icbs_in(national):
        _assert_same(frame[frame["IcbCode"] == icb], _expected(kpi, data, QUARTER, icb), f"{kpi_id} {icb}")


def test_detail_frames_on_quarter_ends_unopened_and_unlabelled_studies(national):  # noqa: F811
    """Studies opening or closing on a quarter's last day (open at its end only when opened), never
    opened, or with no care setting or specialty: every ICB's detail frames equal its own."""
    studies = national.studies.copy()
    portfolio = studies.index[studies["NihrPortfolio"].to_numpy(dtype=bool)]
    ends = [pd.Timestamp(parse(QUARTER).shift(-k).end) for k in range(8)]
    opening_on_ends, closing_on_ends, unopened = (portfolio[k::40][:30] for k in range(3))
    closure = studies["ActualClosureToRecruitmentDate"]
    open_now = (studies["ActualOpeningDate"] <= ends[0]) & (
        closure.isna() | (closure >= pd.Timestamp(parse(QUARTER).start))
    )
    unlabelled = studies.index[open_now & studies["NihrPortfolio"]][3::20]  # open in the quarter reported
    studies.loc[opening_on_ends, "ActualOpeningDate"] = [ends[i % 8] for i in range(len(opening_on_ends))]
    studies.loc[closing_on_ends, "ActualClosureToRecruitmentDate"] = [ends[i % 8] for i in range(len(closing_on_ends))]
    studies.loc[unopened, "ActualOpeningDate"] = pd.NaT
    studies.loc[unlabelled, ["CareSetting", "ManagingSpecialty"]] = None
    data = dataclasses.replace(national, studies=studies)
    codes = icbs_in(data)
    for rule in icb_frames.RULES:
        if not rule.name.startswith("kpi_activity."):
            continue
        frame = rule.compute_all(data, QUARTER, codes, **FRAME_PARAMS)
        for icb in codes:
            expected = rule.compute(data, QUARTER, icb, **FRAME_PARAMS)
            assert_same_frame(icb_frames.frame_of(frame, icb), expected, f"{rule.name} for {icb}")
