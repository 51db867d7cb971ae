"""The summary's first page: what changed since the last pack, what needs the board's attention
(exception first), where each KPI with a target date is heading, and which earlier figures the
data now restate.

The build gives the summary the previous quarter's pack (``previous_pack``) and this pack's record
of its figures (``kpi_record``, :mod:`helpers.pack_record`); :func:`compare_with_previous` reads
them (computing this pack's record here when the notebook runs without the build) and the
``show_*`` functions display the result in words. Without a previous pack, each says so in one line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

from helpers import changes, freshness, narrative, pack_record, revisions
from helpers.projections import projection_sentence
from helpers.quarters import parse
from helpers.tables import FoldedTable, Table, format_table

# Scorecard rows that need the board's attention, most urgent first.
EXCEPTION_ORDER = (
    ("Rag", "red"),
    ("Rag", "amber"),
    ("Variation", "concern_high"),
    ("Variation", "concern_low"),
    ("Assurance", "consistent_fail"),
)
NO_EXCEPTION = "No headline KPI is off track, slightly behind its trajectory or showing special cause concern."
REVISIONS_SHOWN = 30  # more restated figures than this: the table lists them folded


@dataclass(frozen=True)
class Sentences:
    """A lead sentence and a list of points, HTML-escaped (not the section's opening summary)."""

    lead: str
    points: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        parts = [f'<p class="bp-lead">{html.escape(self.lead, quote=False)}</p>']
        if self.points:
            items = "".join(f"<li>{html.escape(p, quote=False)}</li>" for p in self.points)
            parts.append(f'<ul class="bp-points">{items}</ul>')
        return "\n".join(parts)

    def __repr__(self) -> str:
        return "\n".join([self.lead, *(f"- {p}" for p in self.points)])


@dataclass(frozen=True)
class SinceLast:
    """This pack against the previous quarter's: None everywhere when there is no previous pack."""

    previous_quarter: str | None  # label, e.g. '2026/27 Q1'
    changes: pd.DataFrame | None  # helpers.changes.changes_between
    revisions: list[revisions.Revision] | None


def current_record(section) -> dict[str, Any]:
    """This pack's record of its figures, computed from the section's data (the build writes it once)."""
    from helpers.section import compute_kpis

    histories: dict = {}
    kpis = compute_kpis(
        section.data, section.quarter, section.icb, section.targets, section.baseline_quarters, histories=histories
    )
    return pack_record.record_of(section.data, section.quarter, section.icb, kpis, histories)


def compare_with_previous(section, previous_pack: str = "", kpi_record: str = "") -> SinceLast:
    """The changes and revisions since the previous pack (``previous_pack``: its folder or
    manifest, '' for none); ``kpi_record``: this pack's record file ('' computes it here)."""
    if previous_pack in (None, ""):
        return SinceLast(None, None, None)
    previous = pack_record.read_record(previous_pack)
    current = pack_record.read_record(kpi_record) if kpi_record not in (None, "") else current_record(section)
    return SinceLast(
        parse(previous["quarter_id"]).label,
        changes.changes_between(previous, current),
        revisions.revisions(previous, current),
    )


def show_changes(since: SinceLast) -> None:
    """The changes since the last pack in words, exception first (one line without a previous pack)."""
    from IPython.display import display

    sentences = changes.change_sentences(since.changes, since.previous_quarter)
    display(Sentences(sentences[0], tuple(sentences[1:])))


def exceptions(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The scorecard rows needing the board's attention, most urgent first (:data:`EXCEPTION_ORDER`),
    each KPI once."""
    order = pd.Series(len(EXCEPTION_ORDER), index=scorecard.index)
    for rank, (column, value) in reversed(list(enumerate(EXCEPTION_ORDER))):
        if column in scorecard:
            order[scorecard[column] == value] = rank
    keep = order < len(EXCEPTION_ORDER)
    return scorecard[keep].assign(_order=order[keep]).sort_values("_order", kind="stable").drop(columns="_order")


def exception_sentences(section) -> list[str]:
    """What needs the board's attention, in words: KPIs off track or behind, special cause
    concern, failing assurance; then stale data; then where each KPI with a target date is heading."""
    flagged = narrative.kpi_sentences(exceptions(section.scorecard))
    stale = freshness.stale_sentences(section.freshness, section.quarter) if section.freshness is not None else []
    heading = [projection_sentence(p) for p in section.projections.values() if p.available]
    return [*(flagged or [NO_EXCEPTION]), *stale, *heading]


def show_exceptions(section) -> None:
    """:func:`exception_sentences` as a lead and a list."""
    from IPython.display import display

    flagged = len(exceptions(section.scorecard))
    lead = (
        f"{flagged} headline KPI{'' if flagged == 1 else 's'} need{'s' if flagged == 1 else ''} the board's attention."
        if flagged
        else NO_EXCEPTION
    )
    sentences = exception_sentences(section)
    display(Sentences(lead, tuple(s for s in sentences if s != NO_EXCEPTION)))


def revisions_table(since: SinceLast) -> Table | None:
    """The restated figures as a table (None when none), values in each KPI's unit."""
    if not since.revisions:
        return None
    frame = revisions.revisions_frame(since.revisions)
    shown = pd.DataFrame(
        {
            "KPI": frame["Label"],
            "Quarter": frame["Quarter"],
            "In the last pack": [narrative.format_value(v, u) for v, u in zip(frame["Old"], frame["Unit"])],
            "Now": [narrative.format_value(v, u) for v, u in zip(frame["New"], frame["Unit"])],
            "Change": [revisions.change_words(r) for r in since.revisions],
        }
    )
    return format_table(
        shown,
        caption=f"Figures restated since the {since.previous_quarter} pack",
        footnotes=["manifest.json lists every restated figure with its change (`revisions`)."],
        name="revisions",
    )


def show_revisions(since: SinceLast) -> None:
    """The revisions in words (one line when none) and their table."""
    from IPython.display import display

    sentences = revisions.revision_sentences(since.revisions, since.previous_quarter)
    display(Sentences(sentences[0], tuple(sentences[1:])))
    table = revisions_table(since)
    if table is not None:
        many = len(since.revisions) > REVISIONS_SHOWN
        display(FoldedTable(table, f"All {len(since.revisions)} restated figures") if many else table)


__all__ = [
    "NO_EXCEPTION",
    "Sentences",
    "SinceLast",
    "compare_with_previous",
    "current_record",
    "exception_sentences",
    "exceptions",
    "revisions_table",
    "show_changes",
    "show_exceptions",
    "show_revisions",
]
