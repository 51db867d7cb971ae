"""Every ICB's headline KPI histories, in one vectorised pass over a many-ICB folder.

The KPI stage of a pack computes its ICB's headline series (:attr:`helpers.kpis.Kpi.series`) from
its ICB's extract. For the packs of a many-ICB folder (the national extract, 42 ICBs) that is 42
passes over the same tables; :func:`histories` makes one: each KPI's ``all_icbs`` groups the
folder's rows by ICB and gives every ICB's series at once, equal value for value to the per-ICB
series (tests/test_icb_histories.py). The build keeps the result per folder, quarter and pack
parameters (:mod:`boardpack.kpi_stage`), and each pack takes its ICB's rows with
:func:`series_of` instead of computing them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpis
from helpers.quarters import Quarter, parse

COLUMNS = ["Kpi", "IcbCode", "Quarter", "Value", "Label", "Numerator", "Denominator"]


def histories(data, quarter: str | Quarter, icbs: Sequence[str], **params) -> pd.DataFrame:
    """Every headline KPI's series for every ICB of ``icbs``: columns :data:`COLUMNS` (``Label``:
    the label the series gives itself, empty when it gives none; ``Numerator`` and ``Denominator``:
    a comparable KPI's counts, :func:`counts_of`, NaN for the others), KPIs in registry order, ICBs in
    the order given. ``params``: the series' keyword parameters (``baseline_quarters``,
    ``income_baseline_year``, ``targets``). A KPI that raises ``ValueError`` for the folder (a
    table ``data`` lacks, one ICB's data its rule cannot use) is left out: each pack then computes
    it from its own data, as without this pass. One without ``all_icbs`` is computed ICB by ICB."""
    quarter = parse(quarter)
    icbs = list(icbs)
    frames = []
    for kpi in kpis.REGISTRY:
        try:
            frame = (
                kpi.all_icbs(data, quarter, icbs, **params)
                if kpi.all_icbs
                else _icb_by_icb(kpi, data, quarter, icbs, params)
            )
        except ValueError:
            # A missing table, or an ICB's data the rule cannot use (no baseline studies, no
            # population): left to each pack, which computes it and fails only where it fails.
            continue
        labels = frame["Label"].astype(str) if "Label" in frame.columns else ""
        counted = kpi.comparable is not None and "Numerator" in frame.columns
        frames.append(
            pd.DataFrame(
                {
                    "Kpi": kpi.id,
                    "IcbCode": frame["IcbCode"].astype(str).to_numpy(),
                    "Quarter": frame["Quarter"].astype(str).to_numpy(),
                    "Value": frame["Value"].to_numpy(dtype="float64"),
                    "Label": labels if isinstance(labels, str) else labels.to_numpy(),
                    "Numerator": frame["Numerator"].to_numpy(dtype="float64") if counted else np.nan,
                    "Denominator": frame["Denominator"].to_numpy(dtype="float64") if counted else np.nan,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, object)) for c in COLUMNS})
    return pd.concat(frames, ignore_index=True)


_DTYPES = {"Value": "float64", "Numerator": "float64", "Denominator": "float64"}


def _icb_by_icb(kpi: kpis.Kpi, data, quarter: Quarter, icbs: list[str], params: dict) -> pd.DataFrame:
    """``kpi``'s series ICB by ICB, in the layout of ``all_icbs`` (a KPI a project adds without one)."""
    rows = []
    for icb in icbs:
        series = kpi.series(data, quarter, icb, **params)
        series = series[[parse(q) <= quarter for q in series.index]]
        rows.append(
            pd.DataFrame(
                {
                    "IcbCode": icb,
                    "Quarter": [str(q) for q in series.index],
                    "Value": series.to_numpy(dtype="float64"),
                    "Label": series.attrs.get("label", ""),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def series_of(frame: pd.DataFrame, icb: str) -> dict[str, pd.Series]:
    """KPI id -> ``icb``'s series from a :func:`histories` frame, as :attr:`helpers.kpis.Kpi.series`
    gives it (values indexed by quarter id; ``attrs["label"]`` when the series has a label)."""
    rows = frame[frame["IcbCode"] == icb]
    out = {}
    for kpi, group in rows.groupby("Kpi", sort=False):
        series = pd.Series(group["Value"].to_numpy(dtype="float64"), index=group["Quarter"].astype(str).to_numpy())
        label = str(group["Label"].iloc[0]) if len(group) else ""
        if label:
            series.attrs["label"] = label
        out[str(kpi)] = series
    return out


def counts_of(frame: pd.DataFrame, icb: str) -> dict[str, pd.DataFrame]:
    """KPI id -> ``icb``'s ``Quarter``, ``Numerator``, ``Denominator`` of each comparable KPI of a
    :func:`histories` frame, for the quarters of its series: as :attr:`helpers.kpis.Comparable.counts`
    gives them for those quarters (the pack's record, :func:`helpers.pack_record.record_of`). A KPI
    whose counts the pass did not keep (all missing) is left out: the pack computes them."""
    from helpers.kpis import COMPARABLE

    rows = frame[(frame["IcbCode"] == icb) & frame["Kpi"].isin(list(COMPARABLE))]
    return {
        str(kpi): pd.DataFrame(
            {
                "Quarter": group["Quarter"].astype(str).to_numpy(),
                "Numerator": group["Numerator"].to_numpy(dtype="float64"),
                "Denominator": group["Denominator"].to_numpy(dtype="float64"),
            }
        )
        for kpi, group in rows.groupby("Kpi", sort=False)
        if group[["Numerator", "Denominator"]].notna().any(axis=None)
    }
