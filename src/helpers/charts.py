"""The pack's chart house style, and the charts the pack needs.

Every chart function returns a :class:`Chart`: the matplotlib figure, a title that states the
finding, and alt text that describes the chart and its key values. Charts are:

- readable on A4: 7 inches wide, no text smaller than 9 pt;
- in NHS identity colours, with colour-blind-safe series (:data:`SERIES_COLOURS`: Okabe-Ito with
  NHS Blue, each at least 3:1 against white and apart under simulated colour-vision deficiency);
- deterministic: the same data give the same PNG and SVG bytes (fixed size, dpi, font and SVG
  hash salt; no software or date metadata);
- shown in Jupyter as an ``<img>`` carrying the alt text (see :meth:`Chart._repr_mimebundle_`).

Figures are built with :class:`matplotlib.figure.Figure`, not pyplot, so Jupyter's inline backend
never shows a second copy and nothing needs closing.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.ticker import FixedFormatter, FixedLocator, Formatter, FuncFormatter, NullFormatter

from helpers import spc as spc_module
from helpers.icons import ASSURANCE_ALT, VARIATION_ALT  # the icons' words live with their images
from helpers.quarters import Quarter, parse as parse_quarter
from helpers.tables import format_money, format_number, is_money_unit

if TYPE_CHECKING:
    from helpers.targets import PlanBaseline

NHS_COLOURS = {
    "nhs_blue": "#005EB8",
    "dark_blue": "#003087",
    "bright_blue": "#0072CE",
    "light_blue": "#41B6E6",
    "aqua_blue": "#00A9CE",
    "black": "#231F20",
    "dark_grey": "#425563",
    "mid_grey": "#768692",
    "pale_grey": "#E8EDEE",
    "white": "#FFFFFF",
    "dark_green": "#006747",
    "green": "#009639",
    "aqua_green": "#00A499",
    "warm_yellow": "#FFB81C",
    "orange": "#ED8B00",
    "dark_red": "#8A1538",
    "emergency_services_red": "#DA291C",
    "dark_pink": "#7C2855",
    "purple": "#330072",
}
# Making Data Count colours (NHS England), as NHSRplotthedots uses them.
MDC_COLOURS = {
    "common_cause": "#a6a6a6",
    "special_cause_improvement": "#00b0f0",
    "special_cause_concern": "#e46c0a",
    "special_cause_neutral_high": "#490092",
    "special_cause_neutral_low": "#490092",
    "target": "#de1b1b",
}
# Okabe-Ito, with NHS Blue for its blue and NHS Dark Grey for black; yellow, orange and sky blue
# are left out because they fall below 3:1 contrast on white.
SERIES_COLOURS = ("#005EB8", "#D55E00", "#009E73", "#CC79A7", "#425563")
SERIES_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)))
SERIES_MARKERS = ("o", "s", "^", "D", "v")

FIGURE_WIDTH_IN = 7.0
ICON_SIZE_IN = 1.0
DPI = 200
CSS_PX_PER_IN = 96
MIN_FONT_PT = 9

HOUSE_RC = {
    # DejaVu Sans ships with matplotlib, so every machine draws the same glyphs.
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "axes.edgecolor": NHS_COLOURS["dark_grey"],
    "axes.labelcolor": NHS_COLOURS["black"],
    "text.color": NHS_COLOURS["black"],
    "xtick.color": NHS_COLOURS["dark_grey"],
    "ytick.color": NHS_COLOURS["dark_grey"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": NHS_COLOURS["pale_grey"],
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "ri-boardpack",
    "svg.fonttype": "path",
    "path.simplify": False,
}

POINT_TYPE_LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause improvement",
    "special_cause_concern": "Special cause concern",
    "special_cause_neutral_high": "Special cause (high)",
    "special_cause_neutral_low": "Special cause (low)",
}


@contextmanager
def house_style():
    """rcParams of the house style, for anything drawn or saved inside the block."""
    with matplotlib.rc_context(HOUSE_RC):
        yield


@dataclass(eq=False)
class Chart:
    """A finished chart: ``figure``, ``title`` (the finding) and ``alt_text`` (what it shows)."""

    figure: Figure
    title: str
    alt_text: str

    def __post_init__(self) -> None:
        if not str(self.alt_text).strip():
            raise ValueError("Chart: alt_text must describe the chart; it is empty")

    def png_bytes(self) -> bytes:
        """The chart as PNG; the same figure always gives the same bytes."""
        buffer = io.BytesIO()
        with house_style():
            self.figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()

    def svg_text(self) -> str:
        """The chart as SVG, with fixed element ids and no date or creator."""
        buffer = io.StringIO()
        with house_style():
            self.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        return buffer.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write ``.png`` or ``.svg`` (by suffix) and return the path."""
        path = Path(path)
        if path.suffix.lower() == ".png":
            path.write_bytes(self.png_bytes())
        elif path.suffix.lower() == ".svg":
            path.write_text(self.svg_text(), encoding="utf-8")
        else:
            raise ValueError(f"Chart.save: {path.name} must end .png or .svg")
        return path

    @property
    def width_px(self) -> int:
        """Display width in CSS pixels (the figure's inches at 96 px per inch)."""
        return round(self.figure.get_figwidth() * CSS_PX_PER_IN)

    def img_tag(self) -> str:
        """An ``<img>`` with the PNG inline and the alt text, for HTML outputs."""
        return self._img_html(base64.b64encode(self.png_bytes()).decode("ascii"))

    def _img_html(self, png_base64: str) -> str:
        return (
            f'<img src="data:image/png;base64,{png_base64}" alt="{html.escape(self.alt_text, quote=True)}" '
            f'class="boardpack-chart" width="{self.width_px}" style="max-width:100%;height:auto">'
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        # nbconvert's default "lab" HTML template ignores alt metadata on image/png outputs and
        # then fills in "No description has been provided for this image"; text/html outranks
        # image/png in its display priority, so the <img> below (with alt) is what gets exported.
        # The "classic" template, boardpack's own template and other PNG consumers read
        # output.metadata["image/png"]["alt"].
        png = base64.b64encode(self.png_bytes()).decode("ascii")
        data = {"text/html": self._img_html(png), "image/png": png, "text/plain": f"{self.title}\n{self.alt_text}"}
        metadata = {"image/png": {"alt": self.alt_text, "width": self.width_px}}
        return data, metadata


# -- shared pieces ------------------------------------------------------------------------------


def _new_figure(height_in: float, width_in: float = FIGURE_WIDTH_IN) -> Figure:
    with house_style():
        return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def _set_title(figure: Figure, title: str, width_chars: int = 66) -> None:
    figure.suptitle(
        textwrap.fill(title, width_chars), x=0.01, ha="left", fontweight="bold", fontsize=HOUSE_RC["figure.titlesize"]
    )


def _decimals_for(values: Iterable[float]) -> int:
    finite = [abs(float(v)) for v in values if v is not None and np.isfinite(v)]
    if not finite or all(float(v).is_integer() for v in finite):
        return 0
    biggest = max(finite)
    return 0 if biggest >= 100 else 1 if biggest >= 10 else 2


def _number(value: float, decimals: int) -> str:
    return format_number(float(value), decimals)


def _thousands_axis(axis, decimals: int) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(float(v), decimals)))


def _value_words(unit: str, decimals: int) -> Callable[[float], str]:
    """How a chart states a value in titles, legends and alt text: money by the pack's one rule
    (``£3.94m``, ``£88k``), anything else with thousands separators."""
    if is_money_unit(unit):
        return lambda value: format_money(float(value))
    return lambda value: _number(value, decimals)


class MoneyFormatter(Formatter):
    """Money tick labels on one scale for the whole axis: ``£3.5m``, ``£4.0m`` (or ``£250k``),
    with as many decimals as the tick spacing needs."""

    def __call__(self, value, pos=None) -> str:
        return self.format_ticks([value])[0]

    def format_ticks(self, values) -> list[str]:
        values = [float(v) for v in values]
        if not values:
            return []
        top = max(abs(v) for v in values)
        scale, suffix = (1_000_000, "m") if top >= 1_000_000 else (1_000, "k") if top >= 1_000 else (1, "")
        # The fewest decimals (up to 2) that show every tick exactly: £3.25m, not "£3.3m".
        scaled = [abs(v) / scale for v in values]
        decimals = next((d for d in (0, 1) if all(abs(round(v, d) - v) < 1e-9 for v in scaled)), 2)
        labels = []
        for v in values:
            size = format_number(abs(v) / scale, decimals)
            negative = v < 0 and any(ch in "123456789" for ch in size)  # no "-£0"
            labels.append(f"{'-' if negative else ''}£{size}{suffix}")
        return labels


def _value_axis(axis, unit: str, decimals: int) -> None:
    """Tick labels of the value axis: money (:class:`MoneyFormatter`) or thousands separators."""
    if is_money_unit(unit):
        axis.set_major_formatter(MoneyFormatter())
    else:
        _thousands_axis(axis, decimals)


def is_quarterly(stamps: pd.Series | pd.DatetimeIndex) -> bool:
    """Dates that are all quarter starts (1 January, April, July or October at midnight): the
    pack's quarterly series, dated as :func:`helpers.section.with_dates` dates them."""
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(stamps)).dropna())
    return len(index) > 0 and all(s.day == 1 and s.month in (1, 4, 7, 10) and s == s.normalize() for s in index)


def _date_words(stamps: pd.Series | pd.DatetimeIndex) -> Callable[[pd.Timestamp], str]:
    """'2026/27 Q2' for quarterly points (see :func:`is_quarterly`), 'April 2026' for monthly points
    (all on the 1st), else '15 April 2026'."""
    if is_quarterly(stamps):
        return lambda s: Quarter.of_date(pd.Timestamp(s)).label
    monthly = all(s.day == 1 for s in pd.DatetimeIndex(stamps))
    return (lambda s: s.strftime("%B %Y")) if monthly else (lambda s: f"{s.day} {s.strftime('%B %Y')}")


MAX_YEAR_LABELS = 8


def _date_axis(ax, stamps: pd.Series) -> None:
    """The x-axis of a dated chart: a quarterly series by financial year (a tick at each
    1 April, the year's label ``2023/24`` under its middle); anything else by calendar dates."""
    if not is_quarterly(stamps):
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        return
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(stamps)).dropna())
    first, last = index.min(), index.max()
    years = list(range(Quarter.of_date(first).fy_start, Quarter.of_date(last).fy_start + 1))
    every = -(-len(years) // MAX_YEAR_LABELS)  # label every nth year so at most 8 labels show
    boundaries = [dt.date(year, 4, 1) for year in years[1:]]
    ax.xaxis.set_major_locator(FixedLocator(mdates.date2num(boundaries) if boundaries else []))
    ax.xaxis.set_major_formatter(NullFormatter())
    # Each label sits mid-year (1 October), kept within the data so short series still show one.
    middles = [min(max(pd.Timestamp(year, 10, 1), first), last) for year in years[::every]]
    ax.xaxis.set_minor_locator(FixedLocator(mdates.date2num(middles)))
    ax.xaxis.set_minor_formatter(FixedFormatter([f"{year}/{(year + 1) % 100:02d}" for year in years[::every]]))
    ax.tick_params(axis="x", which="minor", length=0)
    ax.set_xlabel("Financial year")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: column(s) {missing} not in the frame (has {list(frame.columns)})")
    if frame.empty:
        raise ValueError(f"{where}: the frame has no rows; nothing to chart")


def _numbers_or_suppressed(
    frame: pd.DataFrame, column: str, marker: str | None, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Values as floats (NaN where suppressed) and a mask of suppressed cells.

    ``marker=None``: nothing is suppressed and missing values are allowed (NaN, a gap in a line).
    """
    values, suppressed = [], []
    for row, value in zip(frame.index, frame[column].tolist()):
        if marker is None and (value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))):
            values.append(np.nan)
            suppressed.append(False)
            continue
        if marker is not None and isinstance(value, str) and value == marker:
            values.append(np.nan)
            suppressed.append(True)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            wanted = "a number" if marker is None else f"a number or {marker!r}"
            raise ValueError(f"{where}: row {row!r}, column {column!r}: {value!r} is not {wanted}") from None
        if not np.isfinite(number):
            raise ValueError(f"{where}: row {row!r}, column {column!r} is missing; use {marker!r} for suppressed")
        values.append(number)
        suppressed.append(False)
    return np.array(values, dtype=float), np.array(suppressed, dtype=bool)


def _note_handle(marker: str) -> Line2D:
    """An invisible legend entry that carries the suppression note."""
    return Line2D([], [], linestyle="none", label=f"{marker} 1 to 7 people: suppressed to protect confidentiality.")


def _list_in_words(items: list[str], limit: int = 12) -> str:
    if len(items) <= limit:
        return "; ".join(items)
    return "; ".join(items[:limit]) + f"; and {len(items) - limit} more"


# -- the Making Data Count SPC chart ------------------------------------------------------------


PROJECTION_COLUMNS = ("Date", "Fit", "Low", "High")


def _check_projection(projection: pd.DataFrame | None, where: str) -> pd.DataFrame | None:
    """A projection frame (:func:`helpers.projections.projection_points`) sorted by date, or None."""
    if projection is None:
        return None
    _require_columns(projection, list(PROJECTION_COLUMNS), where)
    return projection.assign(Date=pd.to_datetime(projection["Date"])).sort_values("Date").reset_index(drop=True)


def _draw_projection(ax, projection: pd.DataFrame, label: str) -> Line2D:
    """The projected trend (dotted) and its prediction interval (a pale band); its legend handle."""
    colour = NHS_COLOURS["dark_blue"]
    ax.fill_between(
        projection["Date"], projection["Low"], projection["High"], color=colour, alpha=0.12, linewidth=0, zorder=0
    )
    ax.plot(projection["Date"], projection["Fit"], color=colour, linestyle=":", linewidth=1.6, zorder=2, label=label)
    if "Trajectory" in projection and projection["Trajectory"].notna().any():
        # the plan's trajectory carried on to its target date, in the style of the target line
        ax.plot(
            projection["Date"],
            projection["Trajectory"],
            color=MDC_COLOURS["target"],
            linestyle="--",
            linewidth=1.2,
            zorder=1,
            gid="trajectory-to-target",
        )
    return Line2D([], [], color=colour, linestyle=":", linewidth=1.6, label=label)


RESTATED_LABEL = "Restated since the last pack"


def _restated_dates(restated: Iterable | None) -> set[pd.Timestamp]:
    """Restated points as dates: quarter ids (``2026-27-Q1``) or labels at the quarter's start, else dates."""
    dates = set()
    for item in restated or ():
        if isinstance(item, str):
            try:
                dates.add(pd.Timestamp(parse_quarter(item).start))
                continue
            except ValueError:
                pass
        dates.add(pd.Timestamp(item))
    return dates


def _draw_restated(ax, xs: Sequence, ys: Sequence) -> None:
    """A hollow black ring around each restated point (shape and colour, not colour alone)."""
    ax.scatter(
        list(xs),
        list(ys),
        s=150,
        facecolors="none",
        edgecolors="black",
        linewidths=1.5,
        zorder=5,
        label=RESTATED_LABEL,
        gid="restated",
    )


def _restated_handle() -> Line2D:
    return Line2D(
        [],
        [],
        marker="o",
        linestyle="",
        markerfacecolor="none",
        markeredgecolor="black",
        markeredgewidth=1.5,
        markersize=10,
        label=RESTATED_LABEL,
    )


def _restated_words(stamps: Sequence, words) -> str:
    """E.g. '2025/26 Q4 and 2026/27 Q1 restated since the last pack.'"""
    named = [words(pd.Timestamp(s)) for s in sorted(stamps)]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"{listed} restated since the last pack."


def _projection_words(projection: pd.DataFrame, label: str, say, words) -> str:
    last = projection.iloc[-1]
    said = (
        f"{label} to {words(pd.Timestamp(last['Date']))}: {say(last['Fit'])} "
        f"(interval {say(last['Low'])} to {say(last['High'])})."
    )
    if "Trajectory" in projection and pd.notna(last["Trajectory"]):
        said += f" The trajectory reaches {say(last['Trajectory'])} by then."
    return said


def spc_chart(
    frame: pd.DataFrame,
    title: str | None,
    unit: str,
    improvement_direction: str,
    target: float | None = None,
    rebase: Mapping | None = None,
    plan_baseline: PlanBaseline | None = None,
    target_label: str | None = None,
    *,
    projection: pd.DataFrame | None = None,
    projection_label: str = "Trend projected (80% interval)",
    restated: Iterable | None = None,
) -> Chart:
    """The Making Data Count chart of a :func:`helpers.spc.spc` frame.

    Points coloured by point type, mean (solid), process limits (dashed; dotted when trial
    limits), target (red, dashed). ``target`` defaults to the frame's ``target`` column.
    ``rebase``: date -> reason, drawn as labelled vertical lines where the limits were recalculated.
    ``plan_baseline`` (:func:`helpers.targets.plan_baseline`): the plan's starting point, drawn as
    a labelled dark blue diamond at its quarter on a thin dotted line across the chart.
    ``target_label`` names its line in the legend (default "Target <value>").
    ``title=None`` builds one from the finding, e.g. "Recruits: common cause variation".
    ``projection`` (:func:`helpers.projections.projection_points`; default none): the trend carried
    to the target date, a dotted line in a pale band (its interval), named by ``projection_label``.
    ``restated`` (dates or quarter ids; default none): points restated since the last pack, each
    ringed in black, one legend entry "Restated since the last pack", named in the alt text.
    """
    where = "spc_chart"
    _require_columns(frame, ["date", "value", "mean", "lpl", "upl", "point_type"], where)
    projection = _check_projection(projection, where)
    if improvement_direction not in ("increase", "decrease", "neutral"):
        raise ValueError(
            f"{where}: improvement_direction must be increase/decrease/neutral, got {improvement_direction!r}"
        )
    if target is None and "target" in frame.columns and frame["target"].notna().any():
        target = float(frame["target"].dropna().iloc[-1])
    data = frame.sort_values("date").reset_index(drop=True)
    dates = pd.to_datetime(data["date"])
    groups = data["group"] if "group" in data.columns else pd.Series(0, index=data.index)
    observed = data["value"].notna()
    decimals = _decimals_for(list(data["value"].dropna()) + list(data[["mean", "lpl", "upl"]].stack()))

    say = _value_words(unit, decimals)
    variation = spc_module.variation(data)
    assurance = spc_module.assurance(data, target, improvement_direction)
    finding = spc_module.describe(data.assign(target=np.nan if target is None else target), improvement_direction)
    if not title:
        title = f"{unit[:1].upper()}{unit[1:]}: {finding}" if unit else finding[:1].upper() + finding[1:]

    figure = _new_figure(4.2)
    with house_style():
        ax = figure.add_subplot()
        # Missing values stay NaN so the line breaks at a gap instead of bridging it.
        ax.plot(dates, data["value"], color=NHS_COLOURS["mid_grey"], linewidth=1.2, zorder=2)
        # Each period's limits in its own style: dotted where that period has fewer than 12 points.
        styles = set()
        for _, part in data.groupby(groups, sort=True):
            part_dates = pd.to_datetime(part["date"])
            style = ":" if "trial_limits" in part.columns and bool(part["trial_limits"].any()) else "--"
            styles.add(style)
            ax.plot(part_dates, part["mean"], color=NHS_COLOURS["dark_grey"], linewidth=1.3, zorder=1)
            for column in ("lpl", "upl"):
                ax.plot(
                    part_dates, part[column], color=NHS_COLOURS["mid_grey"], linewidth=1.1, linestyle=style, zorder=1
                )
        handles = [Line2D([], [], color=NHS_COLOURS["dark_grey"], linewidth=1.3, label="Mean")]
        for style, label in (("--", "Process limits"), (":", "Trial limits (under 12 points)")):
            if style in styles:
                handles.append(
                    Line2D([], [], color=NHS_COLOURS["mid_grey"], linewidth=1.1, linestyle=style, label=label)
                )
        for point_type in spc_module.POINT_TYPES:
            mask = observed & (data["point_type"] == point_type)
            if not mask.any():
                continue
            colour = MDC_COLOURS[point_type]
            ax.scatter(dates[mask], data.loc[mask, "value"], s=34, color=colour, edgecolors=colour, zorder=3)
            handles.append(
                Line2D(
                    [], [], marker="o", linestyle="", color=colour, markersize=6, label=POINT_TYPE_LABELS[point_type]
                )
            )
        if target is not None:
            ax.axhline(target, color=MDC_COLOURS["target"], linestyle="--", linewidth=1.4, zorder=1)
            handles.append(
                Line2D(
                    [],
                    [],
                    color=MDC_COLOURS["target"],
                    linestyle="--",
                    linewidth=1.4,
                    label=target_label or f"Target {say(target)}",
                )
            )
        for when, reason in sorted((rebase or {}).items()):
            ax.axvline(pd.Timestamp(when), color=NHS_COLOURS["dark_grey"], linestyle="-.", linewidth=1.0, zorder=1)
            ax.annotate(
                reason,
                xy=(pd.Timestamp(when), 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=9,
                color=NHS_COLOURS["dark_grey"],
            )
        if plan_baseline is not None:
            colour = NHS_COLOURS["dark_blue"]
            ax.axhline(plan_baseline.value, color=colour, linestyle=":", linewidth=1.0, zorder=1)
            ax.scatter([plan_baseline.date], [plan_baseline.value], marker="D", s=40, color=colour, zorder=4)
            handles.append(
                Line2D([], [], color=colour, linestyle=":", marker="D", markersize=6, label=plan_baseline.label)
            )
        ax.set_ylabel(unit)
        ax.yaxis.grid(True)
        ax.set_axisbelow(True)
        ringed = observed & dates.isin(sorted(_restated_dates(restated)))
        if ringed.any():
            _draw_restated(ax, dates[ringed], data.loc[ringed, "value"])
            handles.append(_restated_handle())
        axis_dates = dates
        if projection is not None:
            handles.append(_draw_projection(ax, projection, projection_label))
            axis_dates = pd.concat([dates, projection["Date"]], ignore_index=True)
        _value_axis(ax.yaxis, unit, decimals)
        _date_axis(ax, axis_dates)
        figure.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        _set_title(figure, title)

    words = _date_words(dates)
    last = data[observed].iloc[-1]
    latest_group = data[groups == groups.iloc[-1]]
    counts = data.loc[observed, "point_type"].value_counts()
    special = int(observed.sum() - counts.get("common_cause", 0))
    parts = [
        f"Statistical process control chart of {unit or 'the value'}: {int(observed.sum())} points from "
        f"{words(dates[observed].iloc[0])} to {words(pd.Timestamp(last['date']))}.",
        f"Mean {say(last['mean'])}, {'trial ' if bool(latest_group.get('trial_limits', pd.Series([False])).any()) else ''}"
        f"process limits {say(last['lpl'])} to {say(last['upl'])}.",
    ]
    if groups.nunique() > 1:
        start = pd.Timestamp(latest_group["date"].iloc[0])
        reason = {pd.Timestamp(k): v for k, v in (rebase or {}).items()}.get(start)
        parts.append(f"Limits recalculated from {words(start)}{f' ({reason})' if reason else ''}.")
    parts.append(
        f"Latest value {say(last['value'])} in {words(pd.Timestamp(last['date']))}: "
        f"{spc_module.VARIATION_WORDS[variation]}."
    )
    if special:
        kinds = ", ".join(
            f"{int(counts[t])} {POINT_TYPE_LABELS[t].lower().replace('special cause ', '')}"
            for t in spc_module.POINT_TYPES[1:]
            if counts.get(t, 0)
        )
        parts.append(f"{special} of {int(observed.sum())} points show special cause variation ({kinds}).")
    else:
        parts.append("Every point shows common cause variation.")
    if target is not None:
        parts.append(f"Target {say(target)}" + (f": {spc_module.ASSURANCE_WORDS[assurance]}." if assurance else "."))
    if plan_baseline is not None:
        parts.append(f"{plan_baseline.label}.")
    if projection is not None:
        parts.append(_projection_words(projection, projection_label, say, _date_words(projection["Date"])))
    if ringed.any():
        parts.append(_restated_words(dates[ringed], words))
    return Chart(figure=figure, title=title, alt_text=" ".join(parts))


# -- Making Data Count icons ---------------------------------------------------------------------


def _icon_axes(size_in: float = ICON_SIZE_IN):
    figure = _new_figure(size_in, size_in)
    figure.set_layout_engine(None)
    with house_style():
        ax = figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.axis("off")
    return figure, ax


def _ring(ax, colour: str) -> None:
    ax.add_patch(Circle((0.5, 0.5), 0.44, facecolor="white", edgecolor=colour, linewidth=4))


def variation_icon(name: str) -> Chart:
    """The Making Data Count variation icon, e.g. ``variation_icon('improvement_high')``."""
    if name not in VARIATION_ALT:
        raise ValueError(f"variation_icon: {name!r} is not one of {sorted(VARIATION_ALT)}")
    grey = MDC_COLOURS["common_cause"]
    base = [0.44, 0.50, 0.42, 0.48]
    if name == "common_cause":
        colour, letter, ys = grey, "", base + [0.43, 0.49, 0.44]
    else:
        kind, side = name.rsplit("_", 1)
        colour = {
            "improvement": MDC_COLOURS["special_cause_improvement"],
            "concern": MDC_COLOURS["special_cause_concern"],
            "neutral": MDC_COLOURS["special_cause_neutral_high"],
        }[kind]
        letter = "H" if side == "high" else "L"
        # High: the last points climb and the letter sits below; low: mirror image.
        ys = base + [0.54, 0.62, 0.70] if side == "high" else [1 - y for y in base + [0.54, 0.62, 0.70]]
    figure, ax = _icon_axes()
    with house_style():
        _ring(ax, colour)
        xs = np.linspace(0.22, 0.78, 7)
        ax.plot(xs, ys, color=grey, linewidth=1.2, zorder=2)
        ax.scatter(xs[:4], ys[:4], s=14, color=grey, zorder=3)
        ax.scatter(xs[4:], ys[4:], s=14, color=colour, zorder=3)
        if letter:
            ax.text(
                0.5,
                0.25 if letter == "H" else 0.75,
                letter,
                ha="center",
                va="center",
                fontsize=14,
                fontweight="bold",
                color=colour,
            )
    return Chart(figure=figure, title=VARIATION_ALT[name], alt_text=VARIATION_ALT[name])


def assurance_icon(name: str) -> Chart:
    """The Making Data Count assurance icon: ``consistent_pass``, ``consistent_fail``, ``inconsistent``."""
    if name not in ASSURANCE_ALT:
        raise ValueError(
            f"assurance_icon: {name!r} is not one of {sorted(ASSURANCE_ALT)} "
            "(assurance() gives None when there is no target or the direction is neutral: show no icon)"
        )
    colour = {
        "consistent_pass": MDC_COLOURS["special_cause_improvement"],
        "consistent_fail": MDC_COLOURS["special_cause_concern"],
        "inconsistent": MDC_COLOURS["common_cause"],
    }[name]
    figure, ax = _icon_axes()
    with house_style():
        _ring(ax, colour)
        ax.plot([0.16, 0.84], [0.40, 0.40], color=MDC_COLOURS["target"], linestyle="--", linewidth=1.5, zorder=2)
        if name == "inconsistent":
            xs = np.linspace(0.24, 0.76, 60)
            ax.plot(
                xs,
                0.45 + 0.12 * np.sin((xs - 0.24) / 0.52 * 3 * np.pi),
                color=NHS_COLOURS["dark_grey"],
                linewidth=1.6,
                zorder=3,
            )
        else:
            ax.text(
                0.5,
                0.64,
                "P" if name == "consistent_pass" else "F",
                ha="center",
                va="center",
                fontsize=16,
                fontweight="bold",
                color=colour,
            )
    return Chart(figure=figure, title=ASSURANCE_ALT[name], alt_text=ASSURANCE_ALT[name])


# -- general charts -----------------------------------------------------------------------------


def bar_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str | None,
    *,
    unit: str = "",
    highlight: str | Sequence[str] | None = None,
    sort: bool = True,
    suppressed_marker: str = "*",
    decimals: int | None = None,
    alt_text: str | None = None,
) -> Chart:
    """Horizontal bars: one per category in column ``x``, length from column ``y``.

    Labels use thousands separators; a suppressed cell (``'*'``) shows ``*`` and no bar.
    ``highlight``: categories drawn in NHS Blue, the rest in grey (default: all NHS Blue).
    """
    where = "bar_chart"
    _require_columns(frame, [x, y], where)
    values, suppressed = _numbers_or_suppressed(frame, y, suppressed_marker, where)
    categories = [str(c) for c in frame[x].tolist()]
    if len(set(categories)) != len(categories):
        raise ValueError(f"{where}: column {x!r} repeats a category; one bar per category")
    order = np.arange(len(categories))
    if sort:
        # Largest first; suppressed last, in their given order.
        order = np.array(sorted(order, key=lambda i: (suppressed[i], -values[i] if not suppressed[i] else 0, i)))
    categories = [categories[i] for i in order]
    values, suppressed = values[order], suppressed[order]
    if decimals is None:
        decimals = _decimals_for(values[~suppressed])
    say = _value_words(unit, decimals)
    highlighted = {highlight} if isinstance(highlight, str) else set(highlight or [])
    unknown = highlighted - set(categories)
    if unknown:
        raise ValueError(f"{where}: highlight {sorted(unknown)} not in column {x!r}")
    if not title:
        shown = ~suppressed
        if shown.any():
            top = int(np.argmax(np.where(shown, values, -np.inf)))
            title = f"{categories[top]} has the highest {unit or y}: {say(values[top])}"
        else:
            title = f"{unit or y} by {x}: every value is suppressed"
    colours = [
        NHS_COLOURS["nhs_blue"] if (not highlighted or c in highlighted) else NHS_COLOURS["mid_grey"]
        for c in categories
    ]

    figure = _new_figure(max(2.4, 1.3 + 0.32 * len(categories)))
    with house_style():
        ax = figure.add_subplot()
        positions = np.arange(len(categories))
        ax.barh(positions, np.where(suppressed, 0, values), color=colours, height=0.7)
        ax.set_yticks(positions, categories)
        ax.invert_yaxis()
        span = np.nanmax(np.abs(values)) if (~suppressed).any() else 1.0
        span = span or 1.0
        for position, value, hidden in zip(positions, values, suppressed):
            if hidden:
                ax.text(span * 0.01, position, suppressed_marker, va="center", ha="left", fontsize=10)
            else:
                offset = span * 0.01 if value >= 0 else -span * 0.01
                ax.text(
                    value + offset,
                    position,
                    say(value),
                    va="center",
                    ha="left" if value >= 0 else "right",
                    fontsize=9,
                )
        low = min(0.0, np.nanmin(values) if (~suppressed).any() else 0.0)
        high = max(0.0, np.nanmax(values) if (~suppressed).any() else 1.0)
        ax.set_xlim(low * 1.15, high * 1.15 or 1)
        ax.set_xlabel(unit)
        ax.xaxis.grid(True)
        ax.set_axisbelow(True)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        _value_axis(ax.xaxis, unit, 0 if span >= 10 else decimals)
        if suppressed.any():
            figure.legend(
                handles=[_note_handle(suppressed_marker)],
                loc="outside lower left",
                frameon=False,
                handlelength=0,
                handletextpad=0,
            )
        _set_title(figure, title)

    if alt_text is None:
        items = [
            f"{c} {suppressed_marker} (suppressed)" if hidden else f"{c} {say(v)}"
            for c, v, hidden in zip(categories, values, suppressed)
        ]
        alt_text = (
            f"Horizontal bar chart of {unit or y} by {x}, {len(categories)} bars"
            f"{', largest first' if sort else ''}: {_list_in_words(items)}."
        )
    return Chart(figure=figure, title=title, alt_text=alt_text)


def line_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str | None,
    *,
    unit: str = "",
    series: str | None = None,
    target: float | str | None = None,
    target_label: str = "Target",
    decimals: int | None = None,
    alt_text: str | None = None,
    projection: pd.DataFrame | None = None,
    projection_label: str = "Trend projected (80% interval)",
    restated: Iterable | None = None,
) -> Chart:
    """Lines of ``y`` over ``x`` (dates or ordered categories), one per ``series`` value.

    ``target``: a number (flat target line) or the name of a column holding a trajectory for
    each ``x``; drawn red and dashed, as in Making Data Count.
    ``projection`` (:func:`helpers.projections.projection_points`; default none; dates on ``x``
    only): the trend carried to the target date, a dotted line in a pale band (its interval).
    ``restated`` (dates or quarter ids; dates on ``x`` only; default none): points restated since
    the last pack, each ringed in black (on every series), one legend entry "Restated since the
    last pack", named in the alt text (also when ``alt_text`` is given).
    """
    where = "line_chart"
    projection = _check_projection(projection, where)
    needed = [x, y] + ([series] if series else []) + ([target] if isinstance(target, str) else [])
    _require_columns(frame, needed, where)
    values, _ = _numbers_or_suppressed(frame, y, None, where)
    data = frame.assign(_value=values)
    is_dates = pd.api.types.is_datetime64_any_dtype(data[x])
    if not is_dates and (pd.api.types.is_object_dtype(data[x]) or pd.api.types.is_string_dtype(data[x])):
        try:
            data[x] = pd.to_datetime(data[x], format="ISO8601")
            is_dates = True
        except (ValueError, TypeError):
            pass  # ordered categories such as quarter labels: keep the given order
    if is_dates or pd.api.types.is_numeric_dtype(data[x]):
        data = data.sort_values(x, kind="stable")
    if projection is not None and not is_dates:
        raise ValueError(f"{where}: a projection is drawn on dates; {x!r} does not hold dates")
    restated_dates = _restated_dates(restated)
    if restated_dates and not is_dates:
        raise ValueError(f"{where}: restated points are marked on dates; {x!r} does not hold dates")
    ringed = (
        data[data["_value"].notna() & pd.to_datetime(data[x]).isin(sorted(restated_dates))]
        if restated_dates
        else data.iloc[:0]
    )
    names = list(dict.fromkeys(data[series].tolist())) if series else [None]
    if len(names) > len(SERIES_COLOURS):
        raise ValueError(f"{where}: {len(names)} series; at most {len(SERIES_COLOURS)} stay readable")
    trajectory = None
    if isinstance(target, str):
        trajectory = data.groupby(x, sort=False)[target].first()
    all_numbers = list(values) + ([target] if isinstance(target, (int, float)) else [])
    if trajectory is not None:
        all_numbers += list(trajectory.dropna())
    if decimals is None:
        decimals = _decimals_for(all_numbers)
    words = _date_words(data[x]) if is_dates else str
    say = _value_words(unit, decimals)

    figure = _new_figure(3.8)
    describe = []
    with house_style():
        ax = figure.add_subplot()
        for i, name in enumerate(names):
            part = data if name is None else data[data[series] == name]
            ax.plot(
                part[x],
                part["_value"],
                color=SERIES_COLOURS[i],
                linestyle=SERIES_STYLES[i],
                marker=SERIES_MARKERS[i],
                markersize=4,
                linewidth=1.8,
                label=str(name) if name is not None else y,
            )
            observed = part[part["_value"].notna()]
            label = f"{name}: " if name is not None else ""
            if observed.empty:
                describe.append(f"{label}no values")
                continue
            # Column access keeps each column's type (a row Series would turn years into floats).
            describe.append(
                f"{label}from {say(observed['_value'].iloc[0])} in {words(observed[x].iloc[0])} "
                f"to {say(observed['_value'].iloc[-1])} in {words(observed[x].iloc[-1])}"
            )
        if isinstance(target, (int, float)):
            ax.axhline(
                target,
                color=MDC_COLOURS["target"],
                linestyle="--",
                linewidth=1.4,
                label=f"{target_label} {say(target)}",
            )
        elif trajectory is not None:
            ax.plot(
                trajectory.index,
                trajectory.to_numpy(dtype=float),
                color=MDC_COLOURS["target"],
                linestyle="--",
                linewidth=1.4,
                label=target_label,
            )
        if not ringed.empty:
            _draw_restated(ax, ringed[x], ringed["_value"])
        axis_dates = data[x] if is_dates else None
        if projection is not None:
            _draw_projection(ax, projection, projection_label)
            axis_dates = pd.concat([pd.Series(data[x].to_numpy()), projection["Date"]], ignore_index=True)
        ax.set_ylabel(unit)
        ax.yaxis.grid(True)
        ax.set_axisbelow(True)
        _value_axis(ax.yaxis, unit, decimals)
        if is_dates:
            _date_axis(ax, axis_dates)
        legend_items = len(names) + (target is not None) + (projection is not None) + (not ringed.empty)
        # A ringed point's entry is long: two columns then, so the legend stays within the figure.
        ncols = min(4, legend_items) if ringed.empty else 2
        figure.legend(loc="outside lower center", ncols=ncols, frameon=False)
        if not title:
            title = _line_title(data, x, names, series, unit or y, target, trajectory, say, words)
        _set_title(figure, title)

    if alt_text is None:
        alt_text = f"Line chart of {unit or y}" + (f" by {series}" if series else "") + ": " + "; ".join(describe) + "."
        if isinstance(target, (int, float)):
            alt_text += f" {target_label} {say(target)}."
        elif trajectory is not None and trajectory.notna().any():
            last_x = trajectory.dropna().index[-1]
            alt_text += f" {target_label} for {words(last_x)}: {say(trajectory.dropna().iloc[-1])}."
        if projection is not None:
            alt_text += " " + _projection_words(projection, projection_label, say, _date_words(projection["Date"]))
    if not ringed.empty:
        alt_text += " " + _restated_words(pd.to_datetime(ringed[x]).unique(), words)
    return Chart(figure=figure, title=title, alt_text=alt_text)


def _line_title(data, x, names, series, what, target, trajectory, say, words) -> str:
    """E.g. 'Recruits rose from 100 to 3,900 between April 2025 and July 2025, below the target of 5,000'."""
    data = data[data["_value"].notna()]
    if data.empty:
        return f"{what[:1].upper()}{what[1:]}: no values to show"
    if len(names) > 1:
        latest = data[data[x] == data[x].iloc[-1]]
        best = latest["_value"].idxmax()
        return (
            f"{latest.loc[best, series]} has the highest {what} in {words(latest.loc[best, x])}: "
            f"{say(latest.loc[best, '_value'])}"
        )
    first, last = data["_value"].iloc[0], data["_value"].iloc[-1]
    last_x = data[x].iloc[-1]
    change = "rose" if last > first else "fell" if last < first else "was unchanged"
    text = (
        f"{what[:1].upper()}{what[1:]} {change} from {say(first)} to "
        f"{say(last)} between {words(data[x].iloc[0])} and {words(last_x)}"
    )
    goal = target if isinstance(target, (int, float)) else None
    if trajectory is not None and last_x in trajectory.index and pd.notna(trajectory[last_x]):
        goal = float(trajectory[last_x])
    if goal is not None:
        side = "above" if last > goal else "below" if last < goal else "on"
        text += f", {side} the target of {say(goal)}"
    return text


def representation_chart(
    frame: pd.DataFrame,
    group: str,
    participants: str,
    population: str,
    title: str | None,
    *,
    ratio: str | None = None,
    suppressed_marker: str = "*",
    alt_text: str | None = None,
) -> Chart:
    """Paired bars per group: share of participants vs share of population (shares 0-1), with the
    ratio participants / population printed at the right (from column ``ratio`` if given)."""
    where = "representation_chart"
    _require_columns(frame, [group, participants, population] + ([ratio] if ratio else []), where)
    part, part_hidden = _numbers_or_suppressed(frame, participants, suppressed_marker, where)
    pop, pop_hidden = _numbers_or_suppressed(frame, population, suppressed_marker, where)
    if pop_hidden.any():
        raise ValueError(
            f"{where}: column {population!r} holds a suppressed cell; population shares are never suppressed"
        )
    for column, shares in ((participants, part), (population, pop)):
        bad = np.flatnonzero(~np.isnan(shares) & ((shares < 0) | (shares > 1)))
        if len(bad):
            row = frame.index[bad[0]]
            raise ValueError(
                f"{where}: row {row!r}, column {column!r}: {float(shares[bad[0]])!r} is not a share between 0 and 1"
            )
    if ratio:
        ratios, _ = _numbers_or_suppressed(frame, ratio, suppressed_marker, where)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(pop > 0, part / pop, np.nan)
    ratios = np.where(part_hidden, np.nan, ratios)
    groups = [str(g) for g in frame[group].tolist()]
    if not title:
        if np.isnan(ratios).all():
            title = f"Representation by {group}: no ratio can be shown"
        else:
            low = int(np.nanargmin(ratios))
            title = (
                f"{groups[low]} has the lowest ratio of share of participants to share of population "
                f"({format_number(ratios[low], 2)})"
            )

    figure = _new_figure(max(2.6, 1.5 + 0.45 * len(groups)))
    with house_style():
        ax = figure.add_subplot()
        positions = np.arange(len(groups))
        height = 0.38
        ax.barh(
            positions - height / 2,
            np.where(part_hidden, 0, part),
            height=height,
            color=NHS_COLOURS["nhs_blue"],
            label="Share of participants",
        )
        ax.barh(
            positions + height / 2,
            pop,
            height=height,
            color=NHS_COLOURS["pale_grey"],
            edgecolor=NHS_COLOURS["dark_grey"],
            linewidth=0.8,
            label="Share of population",
        )
        top = float(np.nanmax(np.concatenate([part[~part_hidden], pop]))) or 1.0
        for p, share, hidden in zip(positions, part, part_hidden):
            ax.text(
                top * 0.01 + (0 if hidden else share),
                p - height / 2,
                suppressed_marker if hidden else f"{format_number(share * 100, 1)}%",
                va="center",
                fontsize=9,
            )
        for p, share in zip(positions, pop):
            ax.text(share + top * 0.01, p + height / 2, f"{format_number(share * 100, 1)}%", va="center", fontsize=9)
        ax.set_xlim(0, top * 1.45)
        for p, value in zip(positions, ratios):
            ax.text(
                top * 1.44,
                p,
                "–" if np.isnan(value) else f"×{format_number(value, 2)}",
                va="center",
                ha="right",
                fontsize=9,
                fontweight="bold",
                color=NHS_COLOURS["dark_blue"],
            )
        ax.text(top * 1.44, -0.75, "Ratio", ha="right", va="bottom", fontsize=9, color=NHS_COLOURS["dark_grey"])
        ax.set_yticks(positions, groups)
        ax.invert_yaxis()
        step = 0.1 if top <= 0.5 else 0.2
        ax.set_xticks(np.arange(0, min(1.0, top) + step / 2, step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:.0f}%"))
        ax.xaxis.grid(True)
        ax.set_axisbelow(True)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        handles, _labels = ax.get_legend_handles_labels()
        if part_hidden.any():
            handles.append(_note_handle(suppressed_marker))
        figure.legend(handles=handles, loc="outside lower left", ncols=2, frameon=False)
        _set_title(figure, title)

    if alt_text is None:
        items = []
        for g, share, hidden, population_share, value in zip(groups, part, part_hidden, pop, ratios):
            shown = f"{suppressed_marker} (suppressed)" if hidden else f"{format_number(share * 100, 1)}%"
            ratio_words = "no ratio" if np.isnan(value) else f"ratio {format_number(value, 2)}"
            items.append(
                f"{g} {shown} of participants vs {format_number(population_share * 100, 1)}% of population ({ratio_words})"
            )
        alt_text = (
            f"Paired bar chart comparing share of participants with share of population by {group}: "
            f"{_list_in_words(items)}. A ratio above 1 means the group is over-represented among participants."
        )
    return Chart(figure=figure, title=title, alt_text=alt_text)


def funnel_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    target: float,
    title: str,
    alt_text: str,
    *,
    unit: str = "",
    x_label: str = "Denominator",
    target_label: str = "All ICBs compared",
    label_points: Sequence[str] = (),
) -> Chart:
    """A funnel plot: each unit's value against its denominator, the target line and the 95% and
    99.8% limits as smooth curves (:func:`helpers.funnel.funnel_curves`).

    ``points``: ``IcbCode``, ``Denominator``, ``Value`` and ``Own`` (the highlighted unit, drawn
    large in NHS Blue and labelled); ``label_points``: other codes to label (the outliers).
    Colour is never the only cue: the own unit is a larger diamond, and every line is in the legend.
    """
    where = "funnel_chart"
    _require_columns(points, ["IcbCode", "Denominator", "Value", "Own"], where)
    _require_columns(curves, ["Denominator", "Lower95", "Upper95", "Lower998", "Upper998"], where)
    values = points["Value"].to_numpy(dtype=float)
    decimals = _decimals_for(values)
    own = points["Own"].to_numpy(dtype=bool)
    figure = _new_figure(4.2)
    with house_style():
        ax = figure.add_subplot()
        x = curves["Denominator"].to_numpy(dtype=float)
        grey, blue = NHS_COLOURS["dark_grey"], NHS_COLOURS["nhs_blue"]
        ax.plot(x, curves["Upper998"], color=grey, linewidth=1.2, label="99.8% limits")
        ax.plot(x, curves["Lower998"], color=grey, linewidth=1.2)
        ax.plot(x, curves["Upper95"], color=grey, linewidth=1.0, linestyle="--", label="95% limits")
        ax.plot(x, curves["Lower95"], color=grey, linewidth=1.0, linestyle="--")
        ax.axhline(target, color=NHS_COLOURS["black"], linewidth=0.8, linestyle=":", label=target_label)
        ax.scatter(
            points.loc[~own, "Denominator"],
            points.loc[~own, "Value"],
            s=22,
            color=NHS_COLOURS["mid_grey"],
            edgecolor="white",
            linewidth=0.4,
            label="Other ICBs",
            zorder=3,
        )
        ax.scatter(
            points.loc[own, "Denominator"],
            points.loc[own, "Value"],
            s=70,
            marker="D",
            color=blue,
            edgecolor=NHS_COLOURS["dark_blue"],
            linewidth=0.8,
            label=", ".join(points.loc[own, "IcbCode"]) or "This ICB",
            zorder=4,
        )
        labelled = set(label_points) | set(points.loc[own, "IcbCode"])
        for _, row in points[points["IcbCode"].isin(labelled)].iterrows():
            ax.annotate(
                row["IcbCode"],
                (row["Denominator"], row["Value"]),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=9,
                fontweight="bold" if row["Own"] else "normal",
                color=blue if row["Own"] else NHS_COLOURS["black"],
            )
        # Keep the points in view; the curves open wide at small denominators.
        span = np.nanmax(values) - np.nanmin(values) if len(values) else 1.0
        pad = (span or abs(np.nanmax(values)) or 1.0) * 0.35
        low, high = np.nanmin(values) - pad, np.nanmax(values) + pad
        if unit in ("%", "percent"):
            low, high = max(low, 0.0), min(high, 100.0)
        else:
            low = max(low, 0.0)
        ax.set_ylim(low, high)
        ax.set_xlim(0, float(np.nanmax(x)) * 1.02)
        ax.set_xlabel(x_label)
        ax.set_ylabel(unit)
        ax.yaxis.grid(True)
        ax.set_axisbelow(True)
        _thousands_axis(ax.xaxis, 0)
        _value_axis(ax.yaxis, unit, decimals)
        figure.legend(loc="outside lower center", ncols=5, frameon=False)
        _set_title(figure, title)
    return Chart(figure=figure, title=title, alt_text=alt_text)
