"""Peer inputs: each ICB's numerator and denominator of every comparable KPI, for one quarter.

The figures :mod:`helpers.peers` and :mod:`helpers.funnel` compare come from here, in the layout
of the data contract's optional ``benchmarks`` table (``IcbCode``, ``Quarter``, ``Kpi``,
``Numerator``, ``Denominator``): computed from a many-ICB data folder by :func:`peer_inputs`, or
supplied as a ``benchmarks`` file next to one ICB's own extract (``boardpack benchmarks`` writes
one from a national folder). docs/benchmarking.md, "Where the peer data come from".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from helpers import contract
from helpers.extract import icbs_in, write_parquet
from helpers.kpis import COMPARABLE
from helpers.quarters import Quarter, parse

COLUMNS = contract.CONTRACT["benchmarks"].column_names  # IcbCode, Quarter, Kpi, Numerator, Denominator


def peer_inputs(data, quarter: str | Quarter, icbs: Iterable[str] | None = None) -> pd.DataFrame:
    """``IcbCode``, ``Quarter``, ``Kpi``, ``Numerator``, ``Denominator`` of every comparable KPI
    (:data:`helpers.kpis.COMPARABLE`) for each ICB of ``data`` in ``quarter``.

    ``data``: a loaded many-ICB data folder (:func:`helpers.loading.load_data`); ``icbs``: the ICB
    codes to include (default: every ICB of its organisations table, :func:`helpers.extract.icbs_in`).
    Each ICB's counts come from the same per-ICB helper computations as its headline series
    (:class:`helpers.kpis.Comparable`), so the figures equal those computed from that ICB's own
    extract. It is one pass over the loaded data per ICB (the ICB's rows are cut once,
    :func:`helpers.kpi_common.icb_slice`, and shared by its KPIs), not one pass for all ICBs.

    A KPI with no value for an ICB in the quarter (a denominator of 0, a suppressed count, a
    rolling window not yet full) has no row. Rows are sorted by ICB code, then in board order of
    the KPIs; counts are ``int64``, the other columns text.
    """
    quarter = parse(quarter)
    available = icbs_in(data)
    if icbs is None:
        codes = available
    else:
        codes = sorted({str(c).strip().upper() for c in icbs})
        missing = [c for c in codes if c not in available]
        if missing:
            raise ValueError(
                f"ICB(s) {', '.join(missing)} not in the data (its organisations table has {', '.join(available)})"
            )
    rows = []
    for icb in codes:
        for kpi in COMPARABLE.values():
            counts = kpi.comparable.counts(data, quarter, icb)
            row = counts[counts["Quarter"] == quarter.id]
            if row.empty:
                continue
            numerator, denominator = float(row["Numerator"].iloc[0]), float(row["Denominator"].iloc[0])
            if pd.isna(numerator) or pd.isna(denominator) or denominator <= 0:
                continue
            rows.append((icb, quarter.id, kpi.id, numerator, denominator))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    out = {}
    for column in contract.CONTRACT["benchmarks"].columns:
        out[column.name] = frame[column.name].astype(contract.typed_dtype(column))
    return pd.DataFrame(out)


def write_benchmarks(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a ``benchmarks`` frame as CSV (``.csv``) or Parquet (``.parquet``) by ``path``'s suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n")
        return path
    if suffix == ".parquet":
        return write_parquet(frame, path)
    raise ValueError(f"cannot write {path.name}: name the file .csv or .parquet")


__all__ = ["COLUMNS", "peer_inputs", "write_benchmarks"]
