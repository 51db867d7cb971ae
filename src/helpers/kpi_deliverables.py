"""Deliverables: each milestone's latest status at the quarter and its RAG rating."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.quarters import parse

RAG_ORDER = ("overdue", "at_risk", "on_track", "complete")
RAG_COLOUR = {"overdue": "red", "at_risk": "amber", "on_track": "green", "complete": "blue"}


def deliverables_rag(data, quarter, icb: str) -> pd.DataFrame:
    """Each deliverable with a status reported by the quarter: its latest status and RAG.

    Rules, first match wins: status complete -> ``complete`` (``Late`` when first reported complete
    after its due quarter); due quarter before the quarter reported -> ``overdue`` (red); status
    at_risk or delayed -> ``at_risk`` (amber); otherwise ``on_track`` (green).
    CompletedQuarter is the first quarter the deliverable was reported complete (from the history
    of statuses), Late whether that is after its due quarter, and StatusShown the status for the
    board: ``complete, late`` for a late completion, otherwise the status.
    Columns: DeliverableId, Deliverable, Owner, DueQuarter, StatusQuarter, Status, Rag, Colour,
    CompletedQuarter, Late, StatusShown.
    """
    quarter = parse(quarter)
    rows = kc.table(kc.icb_slice(data, icb), "deliverables")
    ordinals = kc.quarter_id_ordinals(rows["Quarter"])
    rows = rows.assign(_ordinal=ordinals)[ordinals <= quarter.ordinal].sort_values(["DeliverableId", "_ordinal"])
    latest = rows.groupby("DeliverableId", observed=True).tail(1)
    completed = rows[rows["Status"] == "complete"].groupby("DeliverableId", observed=True)["_ordinal"].min()
    completed_ordinal = completed.reindex(latest["DeliverableId"].to_numpy()).to_numpy()
    out = _rag_frame(latest, completed_ordinal, quarter)
    order = out["Rag"].map({r: i for i, r in enumerate(RAG_ORDER)})
    return (
        out.assign(_order=order)
        .sort_values(["_order", "DueQuarter", "DeliverableId"], ignore_index=True)
        .drop(columns="_order")
    )


def _rag_frame(latest: pd.DataFrame, completed_ordinal: np.ndarray, quarter) -> pd.DataFrame:
    """:func:`deliverables_rag`'s columns (unsorted) from each deliverable's latest report (rows of
    the deliverables table) and the ordinal of the first quarter it was reported complete (NaN
    when never)."""
    due = kc.quarter_id_ordinals(latest["DueQuarter"])
    status = latest["Status"].to_numpy()
    is_complete = status == "complete"
    rag = _rag(status, due, np.full(len(status), quarter.ordinal))
    completed_ordinal = np.where(is_complete, completed_ordinal, np.nan)
    out = pd.DataFrame(
        {
            "DeliverableId": latest["DeliverableId"].to_numpy(),
            "Deliverable": latest["Deliverable"].to_numpy(),
            "Owner": latest["Owner"].to_numpy(),
            "DueQuarter": latest["DueQuarter"].to_numpy(),
            "StatusQuarter": latest["Quarter"].to_numpy(),
            "Status": status,
            "Rag": rag,
        }
    )
    out["Colour"] = out["Rag"].map(RAG_COLOUR)
    out["CompletedQuarter"] = [kc.quarter_ids([o])[0] if np.isfinite(o) else pd.NA for o in completed_ordinal]
    out["Late"] = pd.array(np.where(is_complete, completed_ordinal > due, pd.NA), dtype="boolean")
    out["StatusShown"] = np.where(out["Late"].fillna(False).to_numpy(dtype=bool), "complete, late", status)
    for column in (
        "DeliverableId",
        "Deliverable",
        "Owner",
        "DueQuarter",
        "StatusQuarter",
        "Status",
        "Rag",
        "Colour",
        "CompletedQuarter",
        "StatusShown",
    ):
        out[column] = out[column].astype("string")
    return out


def _rag(status: np.ndarray, due: np.ndarray, at: np.ndarray) -> np.ndarray:
    """RAG from status, due quarter ordinal and the ordinal of the quarter reported (rules above)."""
    return np.select(
        [status == "complete", due < at, np.isin(status, ["at_risk", "delayed"])],
        ["complete", "overdue", "at_risk"],
        default="on_track",
    )


def deliverables_history(data, quarter, icb: str) -> pd.DataFrame:
    """Deliverables by RAG at every quarter from the first status reported to ``quarter`` (a
    status holds until the next report). Columns: Quarter, Rag, Deliverables, Pct."""
    quarter = parse(quarter)
    rows = kc.table(kc.icb_slice(data, icb), "deliverables")
    ordinals = kc.quarter_id_ordinals(rows["Quarter"])
    rows = rows.assign(_ordinal=ordinals)[ordinals <= quarter.ordinal].sort_values(["DeliverableId", "_ordinal"])
    first = int(rows["_ordinal"].min()) if len(rows) else quarter.ordinal
    held_rows, held = kc.expand_until_next(
        rows["DeliverableId"].to_numpy(), rows["_ordinal"].to_numpy(), quarter.ordinal
    )
    due = kc.quarter_id_ordinals(rows["DueQuarter"])[held_rows]
    rag = _rag(rows["Status"].to_numpy()[held_rows], due, held)
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([held, rag])).groupby(level=[0, 1]).sum()
    grid = pd.MultiIndex.from_product([kc.history_index(first, quarter), list(RAG_ORDER)])
    counts = counts.reindex(grid, fill_value=0)
    out = pd.DataFrame(
        {
            "Quarter": pd.array(kc.quarter_ids(grid.get_level_values(0)), dtype="string"),
            "Rag": pd.array(grid.get_level_values(1), dtype="string"),
            "Deliverables": counts.to_numpy(dtype="int64"),
        }
    )
    totals = out.groupby("Quarter")["Deliverables"].transform("sum")
    out["Pct"] = kc.share(out["Deliverables"], totals)
    return out


def _reports(data, quarter, icbs: Sequence[str]):
    """Every ICB's status reports up to the quarter, ICB by ICB (in the order of ``icbs``), then
    by deliverable (in id order) and quarter reported (stable, as the per-ICB sort): the
    deliverables table, its rows' positions, and per row its ICB's position, deliverable code and
    quarter's ordinal."""
    deliverables = kc.require_table(data, "deliverables")
    ordinals = kc.frame_quarter_ordinals(deliverables, "Quarter")
    positions = kc.row_icbs(deliverables, "IcbCode", icbs)
    rows = np.flatnonzero((positions >= 0) & (ordinals <= quarter.ordinal))  # NaN compares False
    ids = pd.factorize(deliverables["DeliverableId"].iloc[rows], sort=True)[0].astype("int64")
    order = np.lexsort((ordinals[rows], ids, positions[rows]))
    rows = rows[order]
    return deliverables, rows, positions[rows], ids[order], ordinals[rows]


def deliverables_history_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`deliverables_history`'s counts for every ICB at once, wide: IcbCode, Quarter and one
    column per RAG of :data:`RAG_ORDER` (deliverables with that RAG at the quarter); each ICB's
    rows from its own first status reported."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    deliverables, rows, icb_rows, ids, row_ordinals = _reports(data, quarter, icbs)
    starts = kc.first_ordinals(icb_rows, row_ordinals, size, default=q).astype("int64")
    base = int(starts.min()) if size else q
    width = q - base + 1
    # A deliverable is one id within one ICB: the key keeps equal ids of two ICBs apart.
    keys = icb_rows.astype("int64") * (int(ids.max(initial=0)) + 2) + ids
    held_rows, held = kc.expand_until_next(keys, row_ordinals, q)
    due = kc.frame_quarter_ordinals(deliverables, "DueQuarter")[rows][held_rows]
    rag = _rag(deliverables["Status"].to_numpy()[rows][held_rows], due, held)
    cells = icb_rows[held_rows] * width + held - base
    columns = {
        r: np.bincount(cells[rag == r], minlength=size * width).reshape(size, width).astype("float64")
        for r in RAG_ORDER
    }
    return kc.long_histories(icbs, quarter, base, starts, columns)


def _latest_all_icbs(data, quarter, icbs: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`deliverables_rag`'s frame of every ICB, unsorted, and each row's ICB position."""
    deliverables, rows, icb_rows, ids, ordinals = _reports(data, quarter, icbs)
    # Rows are sorted by (ICB, deliverable, quarter): each deliverable's rows are one run.
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (icb_rows[1:] != icb_rows[:-1]) | (ids[1:] != ids[:-1])
    run = np.cumsum(first) - 1
    last = np.append(first[1:], True)[: len(rows)]
    complete = (deliverables["Status"].to_numpy()[rows] == "complete").astype(bool)
    first_complete = np.full(int(first.sum()), np.inf)
    np.minimum.at(first_complete, run[complete], ordinals[complete])
    completed_ordinal = first_complete[run[last]]
    completed_ordinal[np.isinf(completed_ordinal)] = np.nan
    return _rag_frame(deliverables.take(rows[last]), completed_ordinal, quarter), icb_rows[last]


def deliverables_rag_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`deliverables_rag` of every ICB (an ICB with none left out)."""
    quarter = parse(quarter)
    out, icb_rows = _latest_all_icbs(data, quarter, icbs)
    out.insert(0, "IcbCode", np.asarray(list(icbs), dtype=object)[icb_rows])
    order = out["Rag"].map({r: i for i, r in enumerate(RAG_ORDER)})
    return (
        out.assign(_icb=icb_rows, _order=order)
        .sort_values(["_icb", "_order", "DueQuarter", "DeliverableId"], ignore_index=True)
        .drop(columns=["_icb", "_order"])
    )


def deliverables_summary(data, quarter, icb: str) -> pd.DataFrame:
    """Deliverables by RAG at the quarter, every RAG listed. Columns: Quarter, Rag, Colour, Deliverables, Pct."""
    quarter = parse(quarter)
    rag = deliverables_rag(data, quarter, icb)
    counts = rag["Rag"].value_counts().reindex(list(RAG_ORDER), fill_value=0).astype("int64")
    return _summary_frame(counts.to_numpy()[None, :], quarter)


def _summary_frame(counts: np.ndarray, quarter, icbs: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`deliverables_summary` of ICBs from their counts by RAG (one row of ``counts`` per ICB,
    one column per RAG of :data:`RAG_ORDER`); with ``icbs``, an IcbCode column first."""
    out = pd.DataFrame(
        {
            "Quarter": quarter.id,
            "Rag": pd.array(np.tile(np.asarray(RAG_ORDER, dtype=object), len(counts)), dtype="string"),
            "Deliverables": counts.astype("int64").ravel(),
        }
    )
    out.insert(2, "Colour", out["Rag"].map(RAG_COLOUR))
    out["Pct"] = kc.share(counts, counts.sum(axis=1, keepdims=True)).ravel()
    if icbs is not None:
        out.insert(0, "IcbCode", np.repeat(np.asarray(list(icbs), dtype=object), len(RAG_ORDER)))
    return out


def deliverables_summary_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`deliverables_summary` of every ICB of ``icbs``."""
    quarter = parse(quarter)
    out, icb_rows = _latest_all_icbs(data, quarter, icbs)
    ranks = out["Rag"].map({r: i for i, r in enumerate(RAG_ORDER)}).to_numpy(dtype="int64")
    counts = np.bincount(icb_rows * len(RAG_ORDER) + ranks, minlength=len(icbs) * len(RAG_ORDER))
    return _summary_frame(counts.reshape(len(icbs), len(RAG_ORDER)), quarter, icbs)


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "deliverables_rag": deliverables_rag_frames_all_icbs,
    "deliverables_summary": deliverables_summary_frames_all_icbs,
}
