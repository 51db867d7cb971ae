"""Changes since the last pack: what moved between the previous quarter's pack and this one.

Compared with the previous pack's record (:mod:`helpers.pack_record`): each KPI's RAG rating
against its trajectory, its latest special-cause signal (the Making Data Count variation icon)
and each deliverable's status. Every change is graded by what it asks of the board
(:data:`LEVELS`, exception first):

- ``attention``: a KPI that became off track or fell behind its trajectory, a new special-cause
  concern, a deliverable newly overdue or newly at risk (one still overdue is no change);
- ``note``: a KPI newly rated or no longer rated against a target, a special-cause signal that is
  neither improvement nor concern (new or ended), a special-cause improvement that ended, a
  deliverable completed late, a new deliverable;
- ``fine``: a KPI back on track or improving against its trajectory, a special-cause concern that
  ended, a new special-cause improvement, a deliverable completed (on time).

:func:`changes` lists them (a table, attention first, then in board order), :func:`change_sentences`
says them in words for the summary under :data:`HEADING`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.pack_record import build_record, kpi_entries
from helpers.quarters import Quarter, parse

HEADING = "Changes since the last pack"
LEVELS = ("attention", "note", "fine")
COLUMNS = ["Level", "Kind", "Item", "Label", "Before", "Now", "Sentence"]

_RAG_RANK = {"green": 0, "amber": 1, "red": 2}
RAG_WORDS = {"green": "on track", "amber": "slightly behind", "red": "off track", None: "not rated"}
STATUS_WORDS = {
    "overdue": "overdue",
    "at_risk": "at risk",
    "on_track": "on track",
    "complete": "complete",
}


def _kind_of_variation(variation: str | None) -> str:
    """common_cause, improvement, concern or neutral (None: not charted as XmR)."""
    if not variation:
        return "none"
    return variation if variation == "common_cause" else variation.split("_")[0]


def _rag_change(label: str, before: str | None, now: str | None, target: object, unit: str, since: str):
    """(level, kind, sentence) of a RAG change, None when unchanged."""
    from helpers.narrative import format_value

    if before == now:
        return None
    against = f" against the trajectory of {format_value(target, unit)}" if now is not None else ""
    was = f"(was {RAG_WORDS[before]} in {since})"
    if now is None:
        return "note", "no longer rated", f"{label}: no longer rated against a target {was}"
    if before is None:
        level = "attention" if now == "red" else "note"
        return level, "newly rated", f"{label}: {RAG_WORDS[now]}{against}, newly rated {was}"
    if _RAG_RANK[now] > _RAG_RANK[before]:
        kind = "became off track" if now == "red" else "fell behind"
        return "attention", kind, f"{label}: {kind}, now {RAG_WORDS[now]}{against} {was}"
    kind = "back on track" if now == "green" else "closer to trajectory"
    return "fine", kind, f"{label}: {kind}, now {RAG_WORDS[now]}{against} {was}"


def _signal_change(label: str, before: str | None, now: str | None, since: str):
    """(level, kind, sentence) of a change of the latest point's special-cause signal, None when the
    signal's kind is the same (or the KPI is not charted as XmR in either pack)."""
    from helpers.spc import VARIATION_WORDS

    old, new = _kind_of_variation(before), _kind_of_variation(now)
    if old == new or "none" in (old, new):
        return None
    words = VARIATION_WORDS[now]
    was = f"; {since} showed {VARIATION_WORDS[before]}"  # the icon words end in brackets already
    if new == "concern":
        return "attention", "new special-cause concern", f"{label}: new {words}{was}"
    if new == "improvement":
        return "fine", "new special-cause improvement", f"{label}: new {words}{was}"
    if new == "neutral":
        return "note", "new special-cause signal", f"{label}: new {words}{was}"
    # now common cause: a signal ended
    if old == "concern":
        return "fine", "special-cause concern ended", f"{label}: special cause concern ended, now {words}{was}"
    kind = "special-cause improvement ended" if old == "improvement" else "special-cause signal ended"
    return "note", kind, f"{label}: {kind.replace('-', ' ')}, now {words}{was}"


def _deliverable_change(now: Mapping[str, Any], before: Mapping[str, Any] | None, since: str):
    """(level, kind, sentence) of a deliverable's change of status, None when unchanged."""
    from helpers.narrative import plan_words

    name = f"Deliverable {now['id']} ({plan_words(now['deliverable']).rstrip('.')})"
    due = f"due {parse(now['due_quarter']).label}" if now.get("due_quarter") else "no due quarter"
    rag, old = now["rag"], before["rag"] if before else None
    if before is None:
        level = "attention" if rag in ("overdue", "at_risk") else "note"
        return level, "new deliverable", f"{name}: new since {since}, {STATUS_WORDS.get(rag, rag)}, {due}"
    if rag == "complete" and old != "complete":
        if now.get("late"):
            return "note", "completed late", f"{name}: completed late ({due}, was {STATUS_WORDS.get(old, old)})"
        return "fine", "completed", f"{name}: completed ({due}, was {STATUS_WORDS.get(old, old)})"
    if rag == "overdue" and old != "overdue":  # one still overdue is no change (the Deliverables section lists it)
        return "attention", "newly overdue", f"{name}: newly overdue ({due}, was {STATUS_WORDS.get(old, old)})"
    if rag == "at_risk" and old != "at_risk":
        return "attention", "newly at risk", f"{name}: newly at risk ({due}, was {STATUS_WORDS.get(old, old)})"
    if rag != old:
        level = "fine" if rag == "on_track" else "note"
        return (
            level,
            "status changed",
            f"{name}: now {STATUS_WORDS.get(rag, rag)} ({due}, was {STATUS_WORDS.get(old, old)})",
        )
    return None


def changes_between(previous: Mapping[str, Any] | None, current: Mapping[str, Any]):
    """:func:`changes` of two records (:mod:`helpers.pack_record`); None without a previous record."""
    import pandas as pd

    if previous is None:
        return None
    since = f"the {parse(previous['quarter_id']).label} pack"
    before = kpi_entries(previous)
    rows = []
    for order, (kpi_id, now) in enumerate(kpi_entries(current).items()):
        old = before.get(kpi_id)
        if old is None:
            continue
        label, unit = now["label"], now["unit"]
        found = _rag_change(label, old.get("rag"), now.get("rag"), now.get("target"), unit, since)
        if found:
            rows.append((order, found, kpi_id, label, RAG_WORDS[old.get("rag")], RAG_WORDS[now.get("rag")]))
        found = _signal_change(label, old.get("variation"), now.get("variation"), since)
        if found:
            rows.append((order, found, kpi_id, label, old.get("variation"), now.get("variation")))
    offset = len(rows) + len(current.get("kpis", []))
    old_deliverables = {d["id"]: d for d in previous.get("deliverables") or []}
    for order, now in enumerate(current.get("deliverables") or []):
        old = old_deliverables.get(now["id"])
        found = _deliverable_change(now, old, since)
        if found:
            rows.append((offset + order, found, now["id"], now["deliverable"], old["rag"] if old else None, now["rag"]))
    frame = pd.DataFrame(
        [
            {
                "Level": level,
                "Kind": kind,
                "Item": item,
                "Label": label,
                "Before": was,
                "Now": is_now,
                "Sentence": sentence + ".",
                "_order": (LEVELS.index(level), order),
            }
            for order, (level, kind, sentence), item, label, was, is_now in rows
        ],
        columns=[*COLUMNS, "_order"],
    )
    return frame.sort_values("_order", kind="stable", ignore_index=True).drop(columns="_order")


def changes(
    previous: Mapping[str, Any] | None,
    scorecard,
    deliverables=None,
    quarter: str | Quarter | None = None,
    icb: str = "",
):
    """The changes since the previous pack, one row each, exception first (Level ``attention``,
    then ``note``, then ``fine``; within a level KPIs in board order, then deliverables).

    ``previous``: the previous pack's record (:func:`helpers.pack_record.find_previous`), None when
    there is none (then None is returned); ``scorecard``: this pack's
    :func:`helpers.scorecard.build_scorecard`; ``deliverables``:
    :func:`helpers.kpi_deliverables.deliverables_rag` (None: deliverables not compared).
    Columns: Level, Kind (e.g. ``became off track``, ``new special-cause concern``,
    ``newly overdue``, ``completed``), Item (KPI or deliverable id), Label, Before, Now, Sentence."""
    if previous is None:
        return None
    if quarter is None:
        quarter = scorecard["Quarter"].iloc[0] if len(scorecard) else previous["quarter_id"]
    current = build_record(quarter, icb or previous.get("icb", ""), scorecard, {}, None, None, deliverables)
    return changes_between(previous, current)


def for_manifest(found) -> list[dict[str, Any]] | None:
    """The changes as JSON-able entries for manifest.json's ``"changes"`` (None: no previous pack)."""
    if found is None:
        return None
    return [{column.lower(): row[column] for column in COLUMNS} for _, row in found.iterrows()]


def change_sentences(found, previous_quarter: str | Quarter | None = None) -> list[str]:
    """The changes in words for the summary under :data:`HEADING`: a lead sentence (how many need
    the board's attention), then one sentence per change, exception first. One line when there is
    no previous pack (``found`` None) or nothing changed."""
    since = f"the {parse(previous_quarter).label} pack" if previous_quarter is not None else "the last pack"
    if found is None:
        return ["No previous pack to compare with, so no changes since the last pack are shown."]
    if len(found) == 0:
        return [f"No RAG rating, special-cause signal or deliverable status changed since {since}."]
    attention = int((found["Level"] == "attention").sum())
    total = len(found)
    lead = f"{total} change{'' if total == 1 else 's'} since {since}, " + (
        f"{attention} needing the board's attention." if attention else "none needing the board's attention."
    )
    return [lead, *found["Sentence"].tolist()]
