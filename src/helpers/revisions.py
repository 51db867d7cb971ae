"""Revisions to earlier figures: headline figures the previous pack published that this pack restates.

Research activity data are revised every month (sites upload recruitment late), so a quarter's
figure in this pack may differ from the same quarter's figure in last quarter's pack. Both packs
keep their KPI histories (:mod:`helpers.pack_record`); :func:`revisions` compares them for every
KPI and quarter both cover.

Tolerance: a figure is restated when its old and new published values differ by more than
:data:`REL_TOL` of the larger (or :data:`ABS_TOL` near zero), as :func:`math.isclose` tests: float
noise (the same figure summed in another order) is not a revision, any change of the data is. A
value that appears (no data or suppressed before) or disappears (no data or suppressed now) is a
restatement too; its change is then unknown. Counts of people are compared as published (rounded
to 5), so a late upload that does not change the rounded figure is not a revision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from helpers.pack_record import SUPPRESSED, kpi_entries
from helpers.quarters import Quarter, parse

REL_TOL = 1e-9
ABS_TOL = 1e-9
HEADING = "Revisions to earlier figures"


@dataclass(frozen=True)
class Revision:
    """One restated figure: KPI, quarter, the value the previous pack published and this pack's."""

    kpi: str
    label: str
    unit: str
    quarter: str  # quarter id
    old: float | int | str | None  # '*' when suppressed, None when no data
    new: float | int | str | None

    @property
    def change(self) -> float | None:
        """new - old (in percentage points for a percentage); None when either is missing or suppressed."""
        if isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)):
            return float(self.new) - float(self.old)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "label": self.label,
            "unit": self.unit,
            "quarter": self.quarter,
            "old": self.old,
            "new": self.new,
            "change": self.change,
        }


def _shown(point: Mapping[str, Any]) -> float | int | str | None:
    return SUPPRESSED if point.get("suppressed") else point.get("value")


def _same(old: object, new: object) -> bool:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return math.isclose(float(old), float(new), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return old == new  # None or '*' on either side


def revisions(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[Revision] | None:
    """Every headline figure of ``previous`` (the previous pack's record) that ``current`` (this
    pack's record) restates, for the KPIs and quarters both cover; in board order, then by quarter.
    None when there is no previous record."""
    if previous is None:
        return None
    before = kpi_entries(previous)
    out = []
    for kpi_id, entry in kpi_entries(current).items():
        if kpi_id not in before:
            continue
        old_points = {p["quarter"]: p for p in before[kpi_id]["history"]}
        for point in entry["history"]:
            old_point = old_points.get(point["quarter"])
            if old_point is None:
                continue
            old, new = _shown(old_point), _shown(point)
            if not _same(old, new):
                out.append(Revision(kpi_id, entry["label"], entry["unit"], point["quarter"], old, new))
    return out


def restated_points(found: Iterable[Revision] | None) -> set[tuple[str, str]]:
    """The (KPI id, quarter id) of every restated figure: what a chart marks as restated."""
    return {(r.kpi, r.quarter) for r in found or ()}


def restated_quarters(found: Iterable[Revision] | None, kpi: str) -> list[str]:
    """The quarter ids of ``kpi``'s restated figures, in order (for its chart)."""
    return sorted({r.quarter for r in found or () if r.kpi == kpi}, key=lambda q: parse(q).ordinal)


def revisions_frame(found: Iterable[Revision] | None):
    """The revisions as a table: Kpi, Label, Unit, Quarter (label), Old, New, Change."""
    import pandas as pd

    rows = [
        {
            "Kpi": r.kpi,
            "Label": r.label,
            "Unit": r.unit,
            "Quarter": parse(r.quarter).label,
            "Old": r.old,
            "New": r.new,
            "Change": r.change,
        }
        for r in found or ()
    ]
    columns = ["Kpi", "Label", "Unit", "Quarter", "Old", "New", "Change"]
    return pd.DataFrame({c: pd.Series([row[c] for row in rows], dtype=object) for c in columns}, columns=columns)


def for_manifest(found: Iterable[Revision] | None) -> list[dict[str, Any]] | None:
    """The revisions as JSON-able entries for manifest.json's ``"revisions"`` (None: no previous pack)."""
    return None if found is None else [r.as_dict() for r in found]


def revision_sentences(
    found: list[Revision] | None, previous_quarter: str | Quarter | None = None, detail: int = 10
) -> list[str]:
    """The revisions in words: one line when nothing was restated (or there is no previous pack),
    else a count and one sentence per restated figure, e.g. ``NIHR portfolio participants recruited
    in the quarter, 2026/27 Q1: 1,235 in the last pack, 1,260 now (up 25).`` When more than
    ``detail`` figures were restated, one sentence per KPI instead: how many quarters, from when to
    when, and its latest restated figure (:func:`revisions_frame` lists them all)."""
    since = f"the {parse(previous_quarter).label} pack" if previous_quarter is not None else "the last pack"
    if found is None:
        return ["No previous pack to compare with, so no revisions to earlier figures are shown."]
    if not found:
        return [f"No earlier figures were restated since {since}."]
    count = len(found)
    sentences = [f"{count} earlier figure{'' if count == 1 else 's'} restated since {since}."]
    if count <= detail:
        return sentences + [f"{r.label}, {parse(r.quarter).label}: {_old_and_new(r)}." for r in found]
    by_kpi: dict[str, list[Revision]] = {}
    for r in found:
        by_kpi.setdefault(r.kpi, []).append(r)
    for kpi_found in by_kpi.values():
        quarters = sorted((parse(r.quarter) for r in kpi_found), key=lambda q: q.ordinal)
        latest = max(kpi_found, key=lambda r: parse(r.quarter).ordinal)
        span = quarters[0].label if len(quarters) == 1 else f"{quarters[0].label} to {quarters[-1].label}"
        many = len(quarters)
        sentences.append(
            f"{latest.label}: {many} quarter{'' if many == 1 else 's'} restated ({span}); "
            f"{parse(latest.quarter).label}: {_old_and_new(latest)}."
        )
    return sentences


def change_words(r: Revision) -> str:
    """The restatement in words, e.g. ``up 60``, ``down 0.9 percentage points``."""
    from helpers.narrative import format_change

    change = format_change(r.change, r.unit, "x") if r.change is not None else None
    change = change.removesuffix(" on x") if change else "change unknown"
    return "changed below the precision shown" if change == "unchanged" else change


def _old_and_new(r: Revision) -> str:
    from helpers.narrative import format_value

    return f"{format_value(r.old, r.unit)} in the last pack, {format_value(r.new, r.unit)} now ({change_words(r)})"
