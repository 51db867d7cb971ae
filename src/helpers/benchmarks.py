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


def _codes(data, icbs: Iterable[str] | None) -> list[str]:
    available = icbs_in(data)
    if icbs is None:
        return available
    codes = sorted({str(c).strip().upper() for c in icbs})
    missing = [c for c in codes if c not in available]
    if missing:
        raise ValueError(
            f"ICB(s) {', '.join(missing)} not in the data (its organisations table has {', '.join(available)})"
        )
    return codes


def _typed(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    out = {}
    for column in contract.CONTRACT["benchmarks"].columns:
        out[column.name] = frame[column.name].astype(contract.typed_dtype(column))
    return pd.DataFrame(out)


def _row(icb: str, quarter: Quarter, kpi: str, numerator: float, denominator: float) -> tuple | None:
    """A row of the table, or None when the KPI has no value (missing count, denominator 0)."""
    if pd.isna(numerator) or pd.isna(denominator) or denominator <= 0:
        return None
    return (icb, quarter.id, kpi, float(numerator), float(denominator))


def peer_inputs(data, quarter: str | Quarter, icbs: Iterable[str] | None = None) -> pd.DataFrame:
    """``IcbCode``, ``Quarter``, ``Kpi``, ``Numerator``, ``Denominator`` of every comparable KPI
    (:data:`helpers.kpis.COMPARABLE`) for each ICB of ``data`` in ``quarter``.

    ``data``: a loaded many-ICB data folder (:func:`helpers.loading.load_data`); ``icbs``: the ICB
    codes to include (default: every ICB of its organisations table, :func:`helpers.extract.icbs_in`).
    One vectorised pass over the data per KPI for all ICBs at once (rows grouped by ICB,
    :mod:`helpers.peer_counts`, each KPI's ``Comparable.all_icbs``); the counts equal those of the
    per-ICB helpers behind each ICB's headline series (:class:`helpers.kpis.Comparable` ``counts``,
    checked ICB by ICB in tests/test_peer_counts.py), so the figures equal those computed from that
    ICB's own extract. A comparable KPI registered without ``all_icbs`` is computed ICB by ICB.

    A KPI with no value for an ICB in the quarter (a denominator of 0, a suppressed count, a
    rolling window not yet full) has no row. Rows are sorted by ICB code, then in board order of
    the KPIs; counts are ``int64``, the other columns text.
    """
    quarter = parse(quarter)
    codes = _codes(data, icbs)
    per_kpi = {}
    for kpi in COMPARABLE.values():
        if kpi.comparable.all_icbs is not None:
            per_kpi[kpi.id] = kpi.comparable.all_icbs(data, quarter, codes)
    rows = []
    for icb in codes:
        for kpi in COMPARABLE.values():
            if kpi.id in per_kpi:
                counts = per_kpi[kpi.id]
                row = _row(icb, quarter, kpi.id, counts.at[icb, "Numerator"], counts.at[icb, "Denominator"])
            else:
                row = _one_icb(data, quarter, icb, kpi)
            if row is not None:
                rows.append(row)
    return _typed(rows)


def _one_icb(data, quarter: Quarter, icb: str, kpi) -> tuple | None:
    """One ICB's row of ``kpi`` from its per-ICB counts (``Comparable.counts``), or None."""
    counts = kpi.comparable.counts(data, quarter, icb)
    row = counts[counts["Quarter"] == quarter.id]
    if row.empty:
        return None
    return _row(icb, quarter, kpi.id, row["Numerator"].iloc[0], row["Denominator"].iloc[0])


def _peer_inputs_per_icb(data, quarter: str | Quarter, icbs: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`peer_inputs` computed ICB by ICB from the per-ICB counts (``Comparable.counts``): the
    former implementation, kept as the reference the vectorised pass is tested and timed against
    (tests/test_peer_counts.py, benchmarks/bench_all_icbs.py)."""
    quarter = parse(quarter)
    rows = []
    for icb in _codes(data, icbs):
        for kpi in COMPARABLE.values():
            row = _one_icb(data, quarter, icb, kpi)
            if row is not None:
                rows.append(row)
    return _typed(rows)


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
