"""How a section shows its KPIs among other ICBs: a sentence, a funnel plot and the ranked peer
table per comparable KPI (:func:`show_peers`), and the summary's performance grid
(:func:`show_performance_grid`). The figures come from :mod:`helpers.comparison`, computed once
per pack; without peer data, one sentence says so and no chart is drawn.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

from helpers import comparison, funnel as funnel_maths
from helpers.charts import Chart, funnel_chart, variation_icon
from helpers.comparison import GRID_COLUMNS, GRID_ROWS, NO_PEER_DATA, PeerComparison, short_name
from helpers.kpis import COMPARABLE
from helpers.narrative import format_value
from helpers.tables import FoldedTable, Table

ICON_CELL_PX = 28  # a variation icon beside a KPI's name in the grid's list


@dataclass(frozen=True)
class Note:
    """A paragraph of the section's text (not its opening summary), HTML-escaped."""

    text: str

    def _repr_html_(self) -> str:
        return f'<p class="bp-note">{html.escape(self.text, quote=False)}</p>'

    def __repr__(self) -> str:
        return self.text


def _outlier_words(comparison_: PeerComparison) -> str:
    outliers = comparison_.outliers()
    if outliers.empty:
        return "No ICB is beyond the 99.8% limits."
    items = [
        f"{row.IcbCode} {short_name(row.IcbName)} ({comparison_.value_words(row.Value)}, {row.Position.split(' the ')[0]})"
        for row in outliers.itertuples()
    ]
    return f"Beyond the 99.8% limits: {'; '.join(items)}."


def funnel_figure(comparison_: PeerComparison) -> Chart:
    """The KPI's funnel plot over the peer group, the pack's ICB highlighted, outliers labelled."""
    f = comparison_.figures
    kpi = COMPARABLE[comparison_.kpi]
    points = comparison.funnel_points(comparison_)
    curves = funnel_maths.funnel_curves(comparison_.funnel, min_denominator=max(1.0, points["Denominator"].min() / 4))
    outliers = comparison_.outliers()
    position = comparison.POSITION_WORDS[comparison_.position]
    title = f"{f.icb} ranks {f.rank} of {f.of} ICBs ({comparison.QUARTILE_WORDS[f.quartile]}), {position}"
    limits = "overdispersion-adjusted limits" if comparison_.funnel.overdispersed else "limits (no overdispersion)"
    alt = (
        f"Funnel plot of {comparison_.label} for {f.of} ICBs ({f.peers}) in {comparison_.quarter}, "
        f"against {kpi.comparable.axis}, with 95% and 99.8% {limits} around "
        f"{format_value(comparison_.funnel.target_value, comparison_.unit)}. "
        f"{f.icb} {comparison_.value_words(f.value)}: {position}; rank {f.rank} of {f.of}. "
        f"{_outlier_words(comparison_)}"
    )
    return funnel_chart(
        points,
        curves,
        comparison_.funnel.target_value,
        title,
        alt,
        unit="%" if comparison_.unit == "percent" else "per 10,000",
        x_label=kpi.comparable.axis,
        target_label=f"{f.peers} ({format_value(comparison_.funnel.target_value, comparison_.unit)})",
        label_points=list(outliers["IcbCode"]),
    )


def peer_table(section, kpi_id: str) -> FoldedTable:
    """Every ICB of the peer group ranked (:func:`helpers.comparison.peer_table`, from the store
    when the build computed it), folded under one line."""
    from helpers.section import detail_table

    found = section.peers[kpi_id]
    return FoldedTable(
        detail_table(section, f"peers_{kpi_id}"),
        f"All {found.figures.of} ICBs ranked (appendix file peers_{kpi_id}.csv)",
    )


def show_peers(section, kpi_ids: Sequence[str] | None = None) -> None:
    """Display each KPI of ``kpi_ids`` (default: the section's comparable KPIs, in board order)
    among its peers: a sentence, its funnel plot and the ranked table; one sentence instead when
    the pack has no peer data (or none for a KPI)."""
    from IPython.display import display

    if kpi_ids is None:
        kpi_ids = [k.id for k in COMPARABLE.values() if k.section == section.id]
    if not section.peers:
        display(Note(NO_PEER_DATA))
        return
    for kpi_id in kpi_ids:
        found = section.peers.get(kpi_id)
        if found is None:
            display(Note(f"{COMPARABLE[kpi_id].label}: no peer figures for {section.quarter.label}."))
            continue
        display(Note(f"{found.sentence()} {_outlier_words(found)}"))
        display(funnel_figure(found))
        display(peer_table(section, kpi_id))


def _icon_html(variation: str | None) -> str:
    if variation is None:
        return ""
    icon = variation_icon(variation)
    png = base64.b64encode(icon.png_bytes()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(icon.alt_text, quote=True)}" '
        f'width="{ICON_CELL_PX}" height="{ICON_CELL_PX}" class="bp-grid-icon"> '
    )


@dataclass(frozen=True)
class GridList:
    """Each compared KPI's variation icon and its place on the grid, in words."""

    entries: tuple[comparison.GridEntry, ...]

    def _repr_html_(self) -> str:
        items = [f"<li>{_icon_html(e.variation)}{html.escape(e.words(), quote=False)}</li>" for e in self.entries]
        return '<ul class="bp-grid-list">\n' + "\n".join(items) + "\n</ul>"

    def __repr__(self) -> str:
        return "\n".join(e.words() for e in self.entries)


def performance_grid(section) -> tuple[Table, GridList] | None:
    """The performance grid (variation against peer quartile; from the store when the build
    computed it) and its list in words, or None without peer data."""
    from helpers.section import detail_table

    entries = comparison.grid_entries(section.scorecard, section.peers)
    if not entries:
        return None
    return detail_table(section, "performance_grid"), GridList(tuple(entries))


def show_performance_grid(section) -> None:
    """Display the summary's performance grid and its list in words, or the no-peer-data sentence."""
    from IPython.display import display

    shown = performance_grid(section)
    if shown is None:
        display(Note(NO_PEER_DATA))
        return
    for item in shown:
        display(item)


__all__ = [
    "FoldedTable",
    "Note",
    "GridList",
    "GRID_COLUMNS",
    "GRID_ROWS",
    "funnel_figure",
    "peer_table",
    "performance_grid",
    "short_name",
    "show_peers",
    "show_performance_grid",
]
