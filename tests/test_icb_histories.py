"""Every headline KPI's ``all_icbs``: one vectorised pass over a many-ICB folder gives, for every
ICB, exactly the series its pack computes from its own extract (and from the whole folder).

The data are the peer-count edge cases (tests/test_peer_counts.py): a study recruiting outside its
lead ICB, a short history, a suppressed count, no StudyDesign, studies RTT cannot assess.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_peer_counts import EARLIER, ICBS, QUARTER, national  # noqa: F401 - national is a fixture

from helpers import kpi_activity, kpi_commercial
from helpers.extract import icb_tables, icbs_in
from helpers.kpis import REGISTRY
from helpers.loading import Data
from helpers.paths import PROJ_ROOT
from helpers.quarters import parse
from helpers.targets import load_targets

PARAMS = {
    "baseline_quarters": kpi_activity.DEFAULT_BASELINE_QUARTERS,
    "income_baseline_year": kpi_commercial.DEFAULT_INCOME_BASELINE_YEAR,
    "targets": load_targets(Path(PROJ_ROOT) / "params" / "targets.yml"),
}
KPI_IDS = [k.id for k in REGISTRY]


@pytest.fixture(scope="module")
def extracts(national):  # noqa: F811 - the fixture imported above
    """Each ICB's extract, as its pack reads it."""
    return {icb: Data(**icb_tables(national, icb)) for icb in icbs_in(national)}


def _expected(kpi, data, quarter, icb) -> pd.Series:
    series = kpi.series(data, quarter, icb, **PARAMS)
    reported = parse(quarter)
    kept = series[[parse(q) <= reported for q in series.index]]
    kept.attrs = dict(series.attrs)
    return kept


def _assert_same(got: pd.DataFrame, expected: pd.Series, what: str) -> None:
    assert list(got["Quarter"]) == [str(q) for q in expected.index], f"{what}: quarters"
    np.testing.assert_array_equal(
        got["Value"].to_numpy(dtype="float64"), expected.to_numpy(dtype="float64"), err_msg=f"{what}: values"
    )
    if "label" in expected.attrs:
        assert set(got["Label"]) == {expected.attrs["label"]}, f"{what}: label"


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_every_icbs_series_equals_its_packs(national, extracts, quarter, kpi_id):  # noqa: F811
    kpi = next(k for k in REGISTRY if k.id == kpi_id)
    assert kpi.all_icbs is not None, f"{kpi_id} has no all_icbs: the KPI stage would compute it ICB by ICB"
    codes = icbs_in(national)
    assert codes == sorted(ICBS)
    frame = kpi.all_icbs(national, quarter, codes, **PARAMS)
    assert {"IcbCode", "Quarter", "Value"} <= set(frame.columns)
    assert frame["Value"].dtype == "float64"
    assert list(dict.fromkeys(frame["IcbCode"])) == codes, "ICBs in the order given"
    for icb in codes:
        got = frame[frame["IcbCode"] == icb]
        _assert_same(got, _expected(kpi, extracts[icb], quarter, icb), f"{kpi_id} for {icb} from its extract")
        _assert_same(got, _expected(kpi, national, quarter, icb), f"{kpi_id} for {icb} from the whole folder")


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_a_subset_of_icbs_in_any_order(national, kpi_id):  # noqa: F811
    kpi = next(k for k in REGISTRY if k.id == kpi_id)
    assert kpi.all_icbs is not None
    whole = kpi.all_icbs(national, QUARTER, icbs_in(national), **PARAMS)
    chosen = kpi.all_icbs(national, QUARTER, ["QOX", "QE1"], **PARAMS)
    assert list(dict.fromkeys(chosen["IcbCode"])) == ["QOX", "QE1"]
    for icb in ("QOX", "QE1"):
        pd.testing.assert_frame_equal(
            chosen[chosen["IcbCode"] == icb].reset_index(drop=True),
            whole[whole["IcbCode"] == icb].reset_index(drop=True),
        )


def test_a_kpi_one_icbs_data_cannot_give_is_left_to_each_pack(national):  # noqa: F811
    """QF7 led no study open in the baseline: its open-studies KPI raises, so the pass leaves that
    KPI out (each pack computes it and only QF7's fails) and still gives every other KPI."""
    import dataclasses

    from helpers import icb_histories
    from helpers.kpi_activity import BaselineError

    orgs = national.organisations
    lead_icb = (
        national.studies["LeadOrganisationCode"]
        .astype(str)
        .map(dict(zip(orgs["OrganisationCode"].astype(str), orgs["IcbCode"].astype(str))))
    )
    early = national.studies["ActualOpeningDate"] <= pd.Timestamp("2020-03-31")
    data = dataclasses.replace(national, studies=national.studies[~((lead_icb == "QF7") & early)])
    with pytest.raises(BaselineError):
        REGISTRY[0].series(data, QUARTER, "QF7", **PARAMS)
    frame = icb_histories.histories(data, QUARTER, icbs_in(data), **PARAMS)
    assert REGISTRY[0].id == "studies_open_pct_precovid" and REGISTRY[0].id not in set(frame["Kpi"])
    assert list(dict.fromkeys(frame["Kpi"])) == [k.id for k in REGISTRY[1:]]


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("kpi_id", [k.id for k in REGISTRY if k.comparable is not None])
def test_a_comparable_kpis_counts_equal_its_packs_quarter_by_quarter(national, extracts, quarter, kpi_id):  # noqa: F811
    """The pass keeps each comparable KPI's Numerator and Denominator: for each quarter of every ICB's
    series, the counts its pack's record computes from its extract (``Comparable.counts``)."""
    from helpers import icb_histories

    kpi = next(k for k in REGISTRY if k.id == kpi_id)
    frame = icb_histories.histories(national, quarter, icbs_in(national), **PARAMS)
    for icb in icbs_in(national):
        quarters = frame.loc[(frame["Kpi"] == kpi_id) & (frame["IcbCode"] == icb), "Quarter"]
        expected = kpi.comparable.counts(extracts[icb], quarter, icb).set_index("Quarter").reindex(quarters)
        counts = icb_histories.counts_of(frame, icb).get(kpi_id)
        if counts is None:  # none kept: the pack computes them, and finds none either
            assert expected[["Numerator", "Denominator"]].isna().all(axis=None), f"{kpi_id} {icb}"
            continue
        assert list(counts.columns) == ["Quarter", "Numerator", "Denominator"]
        for column in ("Numerator", "Denominator"):
            np.testing.assert_array_equal(
                counts[column].to_numpy(dtype="float64"),
                expected[column].to_numpy(dtype="float64"),
                err_msg=f"{kpi_id} {icb} {column}",
            )
