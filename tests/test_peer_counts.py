"""helpers.peer_counts: every ICB's comparable-KPI counts in one vectorised pass equal the per-ICB
``Comparable.counts`` of each ICB, and peer_inputs (which uses them) equals the former per-ICB loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from helpers import benchmarks
from helpers.benchmarks import _peer_inputs_per_icb, peer_inputs
from helpers.extract import icbs_in
from helpers.kpis import COMPARABLE
from helpers.loading import load_data
from helpers.quarters import parse
from sampledata.generate import generate, write

QUARTER = "2026/27 Q2"
EARLIER = "2025/26 Q3"  # rows after it are in the data and must be ignored
# QWU, QOX: as generated (one QWU-led study recruits in QOX); QHG: a short history (no full rolling
# window); QE1: a suppressed rolling participant count (1-7); QF7: no StudyDesign given.
ICBS = ["QWU", "QOX", "QHG", "QE1", "QF7"]


def _month(quarter) -> str:
    return pd.Timestamp(quarter.start).strftime("%Y-%m")


def _edited(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The generated tables (text, as written to files) with the edge cases of the per-ICB rules."""
    orgs = tables["organisations"]
    icb_of = dict(zip(orgs["OrganisationCode"].astype(str), orgs["IcbCode"].astype(str)))
    studies = tables["studies"].copy()
    recruitment = tables["recruitment"].astype({"StudyId": str, "OrganisationCode": str, "Month": str})
    site_icb = recruitment["OrganisationCode"].map(icb_of)
    month = recruitment["Month"]  # YYYY-MM: compares as text
    reported = parse(QUARTER)
    window_start, two_quarters_ago = _month(reported.shift(-3)), _month(reported.shift(-1))
    lead_icb = studies["LeadOrganisationCode"].astype(str).map(icb_of)
    on_portfolio = (studies["NihrPortfolio"].astype(str) == "Y").to_numpy()
    portfolio_ids = set(studies.loc[on_portfolio, "StudyId"].astype(str))

    # A QWU-led portfolio study, assessed for RTT in both quarters, with no participants at QWU but
    # many in QOX: they count for QOX's participants, not towards the study's RTT (off track).
    earlier_end, end = str(parse(EARLIER).end), str(reported.end)
    closure = studies["ActualClosureToRecruitmentDate"]
    assessed = (
        (lead_icb == "QWU").to_numpy()
        & on_portfolio
        & (studies["ActualOpeningDate"].astype(str) <= earlier_end).to_numpy()
        & (closure.isna() | (closure.astype(str) > end)).to_numpy()
        & (studies["PlannedClosureToRecruitmentDate"].astype(str) > studies["ActualOpeningDate"].astype(str)).to_numpy()
        & (studies["SampleSize"].astype("Int64").fillna(0) > 0).to_numpy()
    )
    qwu_study = studies.loc[assessed, "StudyId"].iloc[0]
    sample_size = int(studies.loc[studies["StudyId"] == qwu_study, "SampleSize"].iloc[0])
    qox_org = orgs.loc[orgs["IcbCode"] == "QOX", "OrganisationCode"].iloc[0]
    extra = recruitment[recruitment["StudyId"] == qwu_study].iloc[[0]].copy()
    extra["OrganisationCode"] = qox_org
    extra["Month"] = window_start
    extra["Participants"] = max(40, 3 * sample_size)
    recruitment = recruitment[recruitment["StudyId"] != qwu_study]
    site_icb, month = site_icb[recruitment.index], month[recruitment.index]
    # QHG: recruitment only in the last two quarters, so no rolling window is full.
    short = (site_icb == "QHG") & (month < two_quarters_ago)
    # QE1: one portfolio participant row of 3 in the rolling window (older rows kept: history full).
    qe1_window = (site_icb == "QE1") & (month >= window_start)
    keep_one = recruitment.index[qe1_window & recruitment["StudyId"].isin(portfolio_ids)][:1]
    recruitment = recruitment[~short & (~qe1_window | recruitment.index.isin(keep_one))].copy()
    recruitment.loc[keep_one, "Participants"] = 3
    # QWU: some rows with 0 participants (a practice with only those is not recruiting).
    zero = recruitment.index[(recruitment["OrganisationCode"].map(icb_of) == "QWU").to_numpy()][::7]
    recruitment.loc[zero, "Participants"] = 0
    tables["recruitment"] = pd.concat([recruitment, extra], ignore_index=True)

    imd = tables["recruitment_imd"]
    tables["recruitment_imd"] = imd[
        ~((imd["IcbCode"].astype(str) == "QHG") & (imd["Month"].astype(str) < two_quarters_ago))
    ]

    # A StudyDesign for every ICB but QF7 (its commercial share is of all open studies, not trials).
    designs = np.array(["Interventional", "Observational", "Both", None], dtype=object)
    studies["StudyDesign"] = np.where((lead_icb == "QF7").to_numpy(), None, designs[np.arange(len(studies)) % 4])
    # QOX: some studies not assessable for RTT (no sample size; planned closure on the opening day).
    qox = studies.index[(lead_icb == "QOX").to_numpy()]
    sample_size = studies["SampleSize"].astype("Int64")
    sample_size.loc[qox[::5]] = pd.NA
    studies["SampleSize"] = sample_size
    studies.loc[qox[1::5], "PlannedClosureToRecruitmentDate"] = studies.loc[qox[1::5], "ActualOpeningDate"]
    tables["studies"] = studies
    return tables


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    tables = _edited(generate(to=QUARTER, scale="national", icbs=ICBS))
    folder = tmp_path_factory.mktemp("peer-counts")
    write(tables, folder, "parquet")
    return load_data(folder, QUARTER)


def _per_icb(data, quarter, icb, kpi) -> tuple[float, float]:
    counts = kpi.comparable.counts(data, quarter, icb)
    row = counts[counts["Quarter"] == parse(quarter).id]
    assert len(row) == 1
    return float(row["Numerator"].iloc[0]), float(row["Denominator"].iloc[0])


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("kpi", list(COMPARABLE))
def test_every_icbs_counts_equal_its_per_icb_counts(national, quarter, kpi):
    entry = COMPARABLE[kpi]
    assert entry.comparable.all_icbs is not None
    codes = icbs_in(national)
    assert codes == sorted(ICBS)
    frame = entry.comparable.all_icbs(national, quarter, codes)
    assert list(frame.index) == codes and list(frame.columns) == ["Numerator", "Denominator"]
    for icb in codes:
        expected = _per_icb(national, quarter, icb, entry)
        got = (float(frame.at[icb, "Numerator"]), float(frame.at[icb, "Denominator"]))
        np.testing.assert_array_equal(got, expected, err_msg=f"{kpi} for {icb} in {quarter}")


def test_the_edge_cases_are_exercised(national):
    """The edits reach the rules they are meant to: a window not full, a suppressed count."""

    def value(kpi, icb):
        return COMPARABLE[kpi].comparable.all_icbs(national, QUARTER, icbs_in(national)).loc[icb]

    assert np.isnan(value("gp_practices_recruiting_pct", "QHG")["Numerator"])
    assert np.isnan(value("participants_per_10k", "QHG")["Numerator"])
    assert np.isnan(value("core20_pct", "QHG")["Numerator"])
    assert np.isnan(value("participants_per_10k", "QE1")["Numerator"])
    assert value("participants_per_10k", "QWU")["Numerator"] % 5 == 0


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
def test_peer_inputs_equal_the_per_icb_loop(national, quarter):
    fast = peer_inputs(national, quarter)
    pd.testing.assert_frame_equal(fast, _peer_inputs_per_icb(national, quarter))
    assert len(fast) < len(ICBS) * len(COMPARABLE)  # some rows dropped (no value)
    chosen = peer_inputs(national, quarter, icbs=["qox", "QWU"])
    pd.testing.assert_frame_equal(chosen, _peer_inputs_per_icb(national, quarter, icbs=["QWU", "QOX"]))


def test_empty_tables_give_the_per_icb_counts(national):
    """No recruitment rows at all (nor Core20 rows, nor studies open): no value, as ICB by ICB."""
    empty = dataclasses.replace(
        national,
        recruitment=national.recruitment.iloc[0:0],
        recruitment_imd=national.recruitment_imd.iloc[0:0],
        studies=national.studies.iloc[0:0],
    )
    for kpi, entry in COMPARABLE.items():
        frame = entry.comparable.all_icbs(empty, QUARTER, icbs_in(empty))
        for icb in icbs_in(empty):
            expected = _per_icb(empty, QUARTER, icb, entry)
            got = (float(frame.at[icb, "Numerator"]), float(frame.at[icb, "Denominator"]))
            np.testing.assert_array_equal(got, expected, err_msg=f"{kpi} for {icb}")
    assert peer_inputs(empty, QUARTER).empty


def test_a_kpi_without_all_icbs_is_computed_icb_by_icb(national, monkeypatch):
    kpi = "core20_pct"
    plain = dataclasses.replace(
        COMPARABLE[kpi], comparable=dataclasses.replace(COMPARABLE[kpi].comparable, all_icbs=None)
    )
    monkeypatch.setitem(benchmarks.COMPARABLE, kpi, plain)
    pd.testing.assert_frame_equal(peer_inputs(national, QUARTER), _peer_inputs_per_icb(national, QUARTER))
