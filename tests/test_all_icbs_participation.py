"""The all_icbs of the participation and engagement KPIs where an ICB has no rows at all in a
table (its history is the reported quarter alone, as its pack's), or no table has any row."""

from __future__ import annotations

import dataclasses

import pytest
from test_icb_histories import PARAMS, _assert_same, _expected
from test_peer_counts import QUARTER, national  # noqa: F401 - national is a fixture

from helpers.extract import icbs_in
from helpers.kpis import KPIS

KPI_IDS = ["participants", "participants_per_10k", "core20_pct", "ppie_activities", "bpor_registrations"]
TABLES = ("recruitment", "recruitment_imd", "engagement")


def _without(data, icb: str | None):
    """``data`` with no recruitment, Core20 or engagement rows for ``icb`` (None: for any ICB)."""
    icb_of = dict(zip(data.organisations["OrganisationCode"].astype(str), data.organisations["IcbCode"].astype(str)))
    tables = {}
    for name in TABLES:
        frame = getattr(data, name)
        if icb is None:
            tables[name] = frame.iloc[0:0]
            continue
        icbs = frame["OrganisationCode"].astype(str).map(icb_of) if name == "recruitment" else frame["IcbCode"]
        tables[name] = frame[(icbs != icb).to_numpy(dtype=bool)]
    return dataclasses.replace(data, **tables)


@pytest.mark.parametrize("icb", ["QHG", None])
@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_an_icb_with_no_rows(national, kpi_id, icb):  # noqa: F811
    data = _without(national, icb)
    kpi = KPIS[kpi_id]
    codes = icbs_in(national)
    frame = kpi.all_icbs(data, QUARTER, codes, **PARAMS)
    for code in codes:
        _assert_same(frame[frame["IcbCode"] == code], _expected(kpi, data, QUARTER, code), f"{kpi_id} for {code}")
