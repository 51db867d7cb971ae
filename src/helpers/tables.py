"""The pack's table house style: accessible, deterministic HTML tables and formula-safe exports.

:func:`format_table` renders a frame as an HTML ``<table>`` with a ``<caption>``, ``<th scope>``
header cells, units in the headers, thousands separators, footnotes for suppressed cells and
rounding, and every piece of text HTML-escaped. Element ids come from the caption, so the same
table always gives the same HTML.

:func:`to_csv_safe` / :func:`neutralise_formula` stop spreadsheet formula injection in exported
CSV/XLSX: text beginning with ``= + - @`` (or tab / carriage return) gets a leading single quote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

SUPPRESSED_NOTE = "1 to 7 people: suppressed to protect confidentiality."
ROUNDED_NOTE = "Counts of people are rounded to the nearest 5."
MISSING_MARK = "–"  # en dash
MISSING_NOTE = "no data."

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?%?$")


# -- numbers ------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_number(value: float, decimals: int | None = None) -> str:
    """``1234.5 -> '1,235'`` (``decimals=0``), ``'1,234.5'`` (``decimals=1``).

    ``decimals=None``: whole numbers without decimals, others to 1 decimal place.
    """
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"format_number: {value!r} is not a finite number")
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    # Half away from zero (12.25 -> 12.3), as readers expect; float formatting would give 12.2.
    return f"{_half_up(value, decimals):,.{decimals}f}"


MONEY_UNITS = ("GBP", "£")


def is_money_unit(unit: str | None) -> bool:
    """A unit such as ``GBP`` or ``GBP, rolling 12 months``: its values are shown by :func:`format_money`."""
    return isinstance(unit, str) and unit.strip().startswith(MONEY_UNITS)


def _half_up(value: float, decimals: int) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_money(value: float) -> str:
    """The pack's one money rule: ``£3.94m`` from £1m (2 decimals), ``£88k`` from £1k (whole
    thousands), ``£850`` below £1k (whole pounds; "£0.85k" would read as a typing slip).

    The scale is chosen after rounding, so no amount reads ``£1,000k`` or ``£1,000``: 999,499 is
    ``£999k`` and 999,500 is ``£1.00m``. Negative amounts read ``-£88k``.
    """
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"format_money: {value!r} is not a finite number")
    size = abs(float(value))
    sign = "-" if float(value) < 0 else ""
    pounds = _half_up(size, 0)
    if pounds < 1000:
        return f"{sign if pounds else ''}£{pounds:,.0f}"
    thousands = _half_up(size / 1000, 0)
    if thousands < 1000:
        return f"{sign}£{thousands:,.0f}k"
    return f"{sign}£{_half_up(size / 1_000_000, 2):,.2f}m"


def round_shown(value: float, decimals: int) -> int | float:
    """``value`` rounded half away from zero to ``decimals`` places as the tables show it, without
    float noise (848377.4500000001 -> 848377.45); an int when ``decimals`` is 0."""
    exact = _half_up(value, decimals)
    return int(exact) if decimals <= 0 else float(exact)


def format_date(value: dt.date | np.datetime64) -> str:
    """GOV.UK style: ``'1 April 2026'``; a time of day, if any, is kept: ``'1 April 2026 14:30'``."""
    stamp = pd.Timestamp(value)
    text = f"{stamp.day} {stamp.strftime('%B %Y')}"
    if isinstance(value, dt.datetime) or isinstance(value, np.datetime64):
        if (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0):
            text += stamp.strftime(" %H:%M")
    return text


# -- the HTML table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A formatted table: ``html`` for the pack, ``frame`` with the displayed strings, and
    ``columns``/``rows`` with the values (numbers as numbers) for the CSV/XLSX appendix."""

    html: str
    frame: pd.DataFrame = field(repr=False)
    caption: str
    footnotes: tuple[str, ...]
    name: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = field(default=(), repr=False)

    def to_html(self) -> str:
        return self.html

    def payload(self) -> dict:
        """The appendix record: ``{name, title, columns, rows, footnotes}``, JSON-safe."""
        return {
            "name": self.name,
            "title": self.caption,
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "footnotes": list(self.footnotes),
        }

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The appendix is written from the build's store (helpers.section_tables), not from outputs.
        return {"text/html": self.html, "text/plain": self.caption}

    def __str__(self) -> str:
        return self.html


@dataclass(frozen=True)
class FoldedTable:
    """A long table shown folded under a one-line summary (open it to read; the PDF prints the
    summary line); the appendix has it in full."""

    table: Table
    summary: str

    def _repr_html_(self) -> str:
        return (
            f'<details class="bp-details"><summary>{html.escape(self.summary, quote=False)}</summary>\n'
            f"{self.table.html}\n</details>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": self.summary}


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]
    return f"tbl-{words or 'table'}-{digest}"


def _column_decimals(series: pd.Series) -> int:
    numbers_only = [float(v) for v in series if _is_number(v) and math.isfinite(float(v))]
    return 0 if all(v.is_integer() for v in numbers_only) else 1


def format_table(
    frame: pd.DataFrame,
    *,
    caption: str,
    units: Mapping[str, str] | None = None,
    footnotes: Sequence[str] | None = None,
    suppressed_marker: str = "*",
    rounded_counts: bool = False,
    decimals: int | Mapping[str, int] | None = None,
    index: bool = False,
    row_headers: bool = True,
    name: str | None = None,
    appendix: pd.DataFrame | None = None,
    row_units: str | None = None,
    cell_images: Mapping[str, Sequence[str]] | None = None,
) -> Table:
    """Render ``frame`` in the house style.

    ``units`` maps column -> unit shown in the header ("Recruits (people)"). Cells equal to
    ``suppressed_marker`` are marked and explained in a footnote; ``rounded_counts`` adds the
    rounding note. ``index=True`` keeps the index as the first column (only when meaningful).
    ``row_headers``: the first column's cells are row headers (``<th scope="row">``).
    ``name``: the table's file name in the appendix (default: from the caption).

    Money columns (unit ``GBP``, see :func:`is_money_unit`) show :func:`format_money` (``£3.94m``,
    ``£88k``). The appendix rows hold numbers rounded as shown (money to whole pounds), so no
    CSV cell carries float noise. ``appendix``: a frame written to the appendix instead of the
    shown one, when the table shows words but an analyst needs numbers (its floats are rounded
    the same way, by ``decimals`` or each column's own precision). ``row_units``: a column giving
    each row's unit (e.g. benefits in GBP, hours, patients); rows in GBP follow the money rule.
    ``cell_images``: column -> one ``<img>`` per row (or '') shown before the cell's text, made by
    this project's code (e.g. :func:`helpers.icons.icon_img`), never from data; HTML only.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"format_table: expected a pandas DataFrame, got {type(frame).__name__}")
    if not caption or not str(caption).strip():
        raise ValueError("format_table: every table needs a caption")
    table_name = name  # ``name`` is reused below for column names
    units = dict(units or {})
    unknown = set(units) - {str(c) for c in frame.columns}
    if unknown:
        raise ValueError(f"format_table: units given for column(s) not in the table: {sorted(unknown)}")
    data = frame.reset_index() if index else frame
    columns = [str(c) for c in data.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"format_table: duplicate column names {columns}")

    shown: dict[str, list[str]] = {}
    suppressed_cells: set[tuple[int, str]] = set()
    numeric_column: dict[str, bool] = {}
    suppressed_any = missing_any = False
    if row_units is not None and row_units not in columns:
        raise ValueError(f"format_table: row_units column {row_units!r} not in the table")
    money_rows = (
        frozenset(i for i, unit in enumerate(data[row_units].tolist()) if is_money_unit(unit))
        if row_units is not None
        else frozenset()
    )
    places_of: dict[str, int] = {}
    for name, original in zip(columns, data.columns):
        series = data[original]
        money_column = is_money_unit(units.get(name))
        places = _places(series, name, decimals)
        places_of[name] = 0 if money_column else places
        cells = []
        for row, value in enumerate(series.tolist()):
            money = money_column or row in money_rows
            if isinstance(value, str) and value == suppressed_marker:
                cells.append(suppressed_marker)
                suppressed_cells.add((row, name))
                suppressed_any = True
            elif _is_missing(value):
                cells.append(MISSING_MARK)
                missing_any = True
            elif isinstance(value, (dt.date, np.datetime64)):
                cells.append(format_date(value))
            elif _is_number(value):
                cells.append(format_money(value) if money else format_number(value, places))
            else:
                cells.append(str(value))
        shown[name] = cells
        numeric_column[name] = any(
            _is_number(v) and not _is_missing(v) and not isinstance(v, (dt.date, np.datetime64))
            for v in series.tolist()
        )

    notes = list(footnotes or [])
    if suppressed_any:
        notes.append(f"{suppressed_marker} {SUPPRESSED_NOTE}")
    if rounded_counts:
        notes.append(ROUNDED_NOTE)
    if missing_any:
        notes.append(f"{MISSING_MARK} {MISSING_NOTE}")

    esc = lambda text: html.escape(str(text), quote=True)  # noqa: E731 - local shorthand
    images = {str(k): list(v) for k, v in (cell_images or {}).items()}
    unknown_images = set(images) - set(columns)
    if unknown_images or any(len(v) != len(data) for v in images.values()):
        raise ValueError(
            f"format_table: cell_images must name columns of the table, one entry per row: {sorted(images)}"
        )
    headers = [f"{name} ({units[name]})" if name in units else name for name in columns]
    lines = [f'<table class="boardpack-table" id="{_slug(str(caption))}">', f"<caption>{esc(caption)}</caption>"]
    lines.append("<thead><tr>")
    for name, header in zip(columns, headers):
        align = ' class="num"' if numeric_column[name] else ""
        lines.append(f'<th scope="col"{align}>{esc(header)}</th>')
    lines.append("</tr></thead>")
    lines.append("<tbody>")
    for row in range(len(data)):
        cells = []
        for position, name in enumerate(columns):
            text = shown[name][row]
            classes = []
            if numeric_column[name]:
                classes.append("num")
            if (row, name) in suppressed_cells:
                classes.append("suppressed")
            attrs = f' class="{" ".join(classes)}"' if classes else ""
            image = images.get(name, ())
            shown_text = (image[row] + " " if row < len(image) and image[row] else "") + esc(text)
            if position == 0 and row_headers:
                cells.append(f'<th scope="row"{attrs}>{shown_text}</th>')
            else:
                cells.append(f"<td{attrs}>{shown_text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody>")
    if notes:
        lines.append("<tfoot>")
        for note in notes:
            lines.append(f'<tr><td colspan="{len(columns)}" class="table-note">{esc(note)}</td></tr>')
        lines.append("</tfoot>")
    lines.append("</table>")
    return Table(
        html="\n".join(lines),
        frame=pd.DataFrame({h: shown[c] for h, c in zip(headers, columns)}),
        caption=str(caption),
        footnotes=tuple(notes),
        name=table_name or _slug(str(caption)).removeprefix("tbl-"),
        columns=tuple(headers) if appendix is None else tuple(str(c) for c in appendix.columns),
        rows=_appendix_rows(data, places_of, money_rows) if appendix is None else _appendix_rows(appendix, decimals),
    )


def _places(series: pd.Series, name: str, decimals: int | Mapping[str, int] | None) -> int:
    places = decimals.get(name) if isinstance(decimals, Mapping) else decimals
    return _column_decimals(series) if places is None else places


def _appendix_rows(
    frame: pd.DataFrame, decimals: int | Mapping[str, int] | None, money_rows: frozenset = frozenset()
) -> tuple[tuple, ...]:
    """The rows as JSON values, each number rounded to its column's places (``decimals``: a
    number, column -> places, or None for each column's shown precision); money rows to pounds."""
    places = [_places(frame[c], str(c), decimals) for c in frame.columns]
    return tuple(
        tuple(_json_value(v, 0 if i in money_rows else p) for v, p in zip(row, places))
        for i, row in enumerate(frame.itertuples(index=False, name=None))
    )


def _json_value(value: object, decimals: int | None = None) -> object:
    """A cell as JSON: numbers stay numbers (rounded to ``decimals`` places as shown, when given),
    missing is None, dates are ISO text."""
    if _is_missing(value):
        return None
    if isinstance(value, (dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            return None
        return float(value) if decimals is None else round_shown(float(value), decimals)
    return str(value)


# -- formula-safe exports -----------------------------------------------------------------------


def neutralise_formula(value: object) -> object:
    """Prefix text a spreadsheet would run as a formula with ``'``; leave anything else alone.

    Numbers (and text that is just a number, such as ``"-12"`` or ``"+1,234.5"``) are unchanged.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through neutralise_formula."""
    out = frame.copy()
    out.columns = [neutralise_formula(c) for c in out.columns]
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        out[column] = pd.Series([neutralise_formula(v) for v in series.tolist()], index=series.index, dtype=object)
    if out.index.dtype == object:
        out.index = pd.Index([neutralise_formula(v) for v in out.index])
    return out


def to_csv_safe(frame: pd.DataFrame, path=None, **to_csv_kwargs) -> str | None:
    """``DataFrame.to_csv`` on a neutralised copy (``index=False`` unless given)."""
    to_csv_kwargs.setdefault("index", False)
    return neutralise_frame(frame).to_csv(path, **to_csv_kwargs)
