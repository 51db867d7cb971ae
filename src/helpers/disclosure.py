"""Statistical disclosure control for counts of people below national level.

NHS Digital's rule for HES (also used by OpenSAFELY), as the pack applies it:

- a count of 1-7 people is shown as ``"*"``; 0 is shown as 0;
- every other count is rounded to the nearest 5. Counts are whole numbers, so no exact half arises:
  a remainder of 1-2 rounds down and 3-4 rounds up (8 -> 10, 12 -> 10, 13 -> 15). A value that is
  not a whole number is rejected rather than rounded, because a fractional "count" is a rate;
- percentages are computed from the rounded figures (:func:`share_from_rounded`);
- a mean or median based on 1-7 people is suppressed (:func:`protect_statistic`);
- secondary suppression (:func:`protect`): wherever a total is published, no line of the table
  (a row or column together with its total) may leave a suppressed cell recoverable.

Counts of studies and of organisations are not counts of people and are never suppressed: do not
pass them here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED = "*"
SMALL_COUNT_MAX = 7  # counts 1..7 are suppressed
ROUNDING_BASE = 5
# A shown non-zero count was at least SMALL_COUNT_MAX + 1 before rounding; a shown rounded value r
# came from r - 2 .. r + 2.
_HALF_BASE = ROUNDING_BASE // 2


class DisclosureError(ValueError):
    """Input that cannot be disclosure-controlled as given."""


# ---------------------------------------------------------------------------------------------
# Single counts and statistics
# ---------------------------------------------------------------------------------------------
def _whole_count(n: object, where: str = "") -> int:
    """``n`` as an int, or a clear error when it is not a whole number >= 0."""
    place = f"{where}: " if where else ""
    if isinstance(n, bool) or not isinstance(n, numbers.Real):
        raise DisclosureError(f"{place}a count of people must be a whole number >= 0, got {n!r}")
    if isinstance(n, numbers.Integral):
        value = int(n)
    else:
        if not math.isfinite(float(n)) or float(n) != math.floor(float(n)):
            raise DisclosureError(f"{place}a count of people must be a whole number >= 0, got {n!r}")
        value = int(n)
    if value < 0:
        raise DisclosureError(f"{place}a count of people must be a whole number >= 0, got {n!r}")
    return value


def _round5(value: int) -> int:
    """Nearest multiple of 5 (whole counts have no halves: remainder 1-2 down, 3-4 up)."""
    return (value + _HALF_BASE) // ROUNDING_BASE * ROUNDING_BASE


def round_count(n: int) -> int | None:
    """The published value of a count of people: ``None`` when suppressed (1-7), else rounded to 5."""
    value = _whole_count(n)
    if 1 <= value <= SMALL_COUNT_MAX:
        return None
    return _round5(value)


def disclose_count(n: int) -> int | str:
    """A count of people ready to display: ``"*"`` for 1-7, otherwise rounded to the nearest 5."""
    rounded = round_count(n)
    return SUPPRESSED if rounded is None else rounded


def protect_statistic(value: float, n_people: int) -> float | str:
    """A mean or median over ``n_people`` people: ``"*"`` when based on 1-7 people, else unchanged."""
    people = _whole_count(n_people, "number of people behind the statistic")
    return SUPPRESSED if 1 <= people <= SMALL_COUNT_MAX else value


# ---------------------------------------------------------------------------------------------
# Percentages from rounded figures
# ---------------------------------------------------------------------------------------------
def _rounded_or_none(value: object, what: str) -> int | None:
    """A published figure (int multiple of 5, ``"*"`` or missing) as int, or None when suppressed."""
    if isinstance(value, str):
        if value == SUPPRESSED:
            return None
        raise DisclosureError(f"{what}: expected a rounded count or {SUPPRESSED!r}, got {value!r}")
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    number = _whole_count(value, what)
    if number % ROUNDING_BASE:
        raise DisclosureError(
            f"{what}: {number} is not rounded to {ROUNDING_BASE}; pass published figures "
            "(Protected.rounded or disclose_count), so that percentages come from rounded numbers"
        )
    return number


def share_from_rounded(numerators: pd.Series | Sequence, denominator: object) -> pd.Series:
    """Percentages (0-100) of published counts over a published denominator.

    ``numerators`` are published figures (multiples of 5, ``"*"`` or ``<NA>`` for suppressed);
    ``denominator`` is one published figure or a Series aligned with ``numerators``. The result is an
    object Series: a float percentage, ``"*"`` where the numerator or denominator is suppressed, and
    NaN where the denominator is 0.
    """
    numerators = numerators if isinstance(numerators, pd.Series) else pd.Series(list(numerators), dtype=object)
    if isinstance(denominator, pd.Series):
        same = denominator.index.equals(numerators.index)
        denominators = denominator if same else denominator.reindex(numerators.index)
    else:
        denominators = pd.Series([denominator] * len(numerators), index=numerators.index, dtype=object)
    shares = []
    for label, top, bottom in zip(numerators.index, numerators.array, denominators.array):
        top_value = _rounded_or_none(top, f"numerator at {label!r}")
        bottom_value = _rounded_or_none(bottom, f"denominator at {label!r}")
        if top_value is None or bottom_value is None:
            shares.append(SUPPRESSED)
        elif bottom_value == 0:
            shares.append(float("nan"))
        else:
            shares.append(100.0 * top_value / bottom_value)
    return pd.Series(shares, index=numerators.index, dtype=object, name=numerators.name)


# ---------------------------------------------------------------------------------------------
# Tables: primary and secondary suppression
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Protected:
    """A breakdown after disclosure control.

    ``display``: the input frame with each count column as object dtype holding ints (multiples of
    5, or 0) and ``"*"``. ``rounded``: the same with count columns as nullable ``Int64`` and
    ``<NA>`` where suppressed (for arithmetic such as :func:`share_from_rounded`). ``suppressed``:
    bool frame (count columns only), True for every hidden cell, primary or secondary.
    """

    display: pd.DataFrame
    rounded: pd.DataFrame
    suppressed: pd.DataFrame


def add_total_row(frame: pd.DataFrame, count_columns: Sequence[str], label: Hashable = "Total") -> pd.DataFrame:
    """``frame`` with a row labelled ``label`` holding the sum of each count column (other columns blank)."""
    counts = list(count_columns)
    missing = [c for c in counts if c not in frame.columns]
    if missing:
        raise DisclosureError(f"count column(s) {missing} not in the frame (columns: {list(frame.columns)})")
    if label in frame.index:
        raise DisclosureError(f"the frame already has a row labelled {label!r}")
    total = pd.DataFrame({c: [frame[c].sum()] for c in counts}, index=pd.Index([label], name=frame.index.name))
    return pd.concat([frame, total.astype({c: frame[c].dtype for c in counts})])


def protect(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    total_row: Hashable | None = None,
    total_column: str | None = None,
    group_by: str | Sequence[str] | None = None,
) -> Protected:
    """Apply disclosure control to the counts of people in ``frame``.

    ``count_columns``: the columns holding counts of people (other columns pass through).
    ``total_row``: index label (for a MultiIndex, a label of the innermost level) of the row holding
    each count column's total; ``total_column``: the count column holding each row's total. Every
    published total makes its row or column a *line*; secondary suppression keeps each line safe.
    ``group_by``: columns or index levels splitting ``frame`` into independent tables (e.g. one per
    Place), each with its own total row.

    If a total is published elsewhere in the pack (a headline figure), add it here
    (:func:`add_total_row`) so the breakdown is protected against it, then drop the row.
    """
    counts = list(count_columns)
    missing = [c for c in counts if c not in frame.columns]
    if missing:
        raise DisclosureError(f"count column(s) {missing} not in the frame (columns: {list(frame.columns)})")
    if total_column is not None and total_column not in counts:
        raise DisclosureError(f"total_column {total_column!r} must be one of the count columns {counts}")

    values = np.zeros((len(frame), len(counts)), dtype=np.int64)
    for j, column in enumerate(counts):
        for i, (label, cell) in enumerate(zip(frame.index, frame[column].array)):
            if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)):
                raise DisclosureError(f"column {column!r}, row {label!r}: count is missing")
            values[i, j] = _whole_count(cell, f"column {column!r}, row {label!r}")

    if group_by is None:
        groups = {"the frame": np.arange(len(frame))}
    else:
        keys = [group_by] if isinstance(group_by, str) else list(group_by)
        groups = {f"group {key!r}": rows for key, rows in frame.groupby(keys, sort=False, dropna=False).indices.items()}

    innermost = frame.index.get_level_values(-1) if len(frame) else frame.index
    hidden = np.zeros_like(values, dtype=bool)
    total_col_index = counts.index(total_column) if total_column is not None else None
    for where, rows in groups.items():
        rows = np.asarray(rows)
        total_row_index = None
        if total_row is not None:
            matches = [r for r in rows if innermost[r] == total_row]
            if len(matches) != 1:
                raise DisclosureError(
                    f"{where} has {len(matches)} rows labelled {total_row!r} in its index; expected exactly one "
                    "(total_row matches index labels: set_index the label column first)"
                )
            total_row_index = int(np.where(rows == matches[0])[0][0])
        hidden[rows] = _suppress(values[rows], total_row_index, total_col_index)

    display = frame.copy()
    rounded = frame.copy()
    for j, column in enumerate(counts):
        shown = [SUPPRESSED if hidden[i, j] else _round5(int(values[i, j])) for i in range(len(frame))]
        display[column] = np.array(shown, dtype=object)  # positional: the index may repeat labels
        rounded[column] = pd.array([None if s == SUPPRESSED else s for s in shown], dtype="Int64")
    suppressed = pd.DataFrame(hidden, index=frame.index, columns=counts)
    return Protected(display=display, rounded=rounded, suppressed=suppressed)


def _lines(
    shape: tuple[int, int], total_row: int | None, total_col: int | None
) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Each published linear relation: (component cells, total cell)."""
    n_rows, n_cols = shape
    lines = []
    if total_row is not None:
        for j in range(n_cols):
            lines.append(([(i, j) for i in range(n_rows) if i != total_row], (total_row, j)))
    if total_col is not None:
        for i in range(n_rows):
            lines.append(([(i, j) for j in range(n_cols) if j != total_col], (i, total_col)))
    return lines


def _reader_bounds(shown: int | None) -> tuple[float, float]:
    """What a reader knows about a cell's true value from its published figure (None = suppressed).

    0 is exact; a shown r (>= 10) came from max(8, r-2)..r+2; a hidden cell is at least 1 (zeros are
    never hidden) and unbounded above (secondary cells can be any size).
    """
    if shown is None:
        return 1.0, math.inf
    if shown == 0:
        return 0.0, 0.0
    return float(max(SMALL_COUNT_MAX + 1, shown - _HALF_BASE)), float(shown + _HALF_BASE)


def _pinned_cells(components: Sequence[int | None], total: int | None) -> list[int]:
    """Positions (0.. for components, ``len(components)`` for the total) of suppressed cells whose true
    value a reader can pin to one number from this line alone, using the rounding intervals."""
    cells = list(components) + [total]
    bounds = [_reader_bounds(c) for c in cells]
    total_pos = len(cells) - 1
    pinned = []
    for k, cell in enumerate(cells):
        if cell is not None:
            continue
        others = [b for m, b in enumerate(bounds) if m not in (k, total_pos)]
        if k == total_pos:
            low, high = sum(b[0] for b in others), sum(b[1] for b in others)
        else:
            low = bounds[total_pos][0] - sum(b[1] for b in others)
            high = bounds[total_pos][1] - sum(b[0] for b in others)
        low, high = max(low, bounds[k][0]), min(high, bounds[k][1])
        if low == high:
            pinned.append(k)
    return pinned


def _suppress(values: np.ndarray, total_row: int | None, total_col: int | None) -> np.ndarray:
    """Hidden-cell mask: primary (1-7) plus secondary cells until every line is safe.

    A line is safe when it has no hidden cell, or at least two and none of them can be pinned from
    the line's published figures. Why two: with one hidden cell, total minus the shown cells gives it
    back (exactly for exact figures; for rounded figures to within +-2 per figure, which can still
    pin it when the interval meets the 1-7 range at one end). With two or more the reader learns only
    their sum, and only to within the rounding intervals; :func:`_pinned_cells` catches the remaining
    edge (e.g. 8,8,8,8,8,1,1 -> five 10s, *, *, total 40: the two hidden cells must both be 1).
    This is per-line reasoning, the standard cell-suppression rule; it does not claim protection
    against a linear-programming attack combining many lines of a large multi-way table.
    The extra cell hidden is the smallest shown non-zero count in the line (a total only when no
    other cell is left), so as little as possible is lost.
    """
    hidden = (values >= 1) & (values <= SMALL_COUNT_MAX)
    lines = _lines(values.shape, total_row, total_col)
    changed = True
    while changed:
        changed = False
        for components, total in lines:
            cells = components + [total]
            n_hidden = sum(hidden[c] for c in cells)
            if n_hidden == 0:
                continue
            shown = [None if hidden[c] else _round5(int(values[c])) for c in cells]
            if n_hidden >= 2 and not _pinned_cells(shown[:-1], shown[-1]):
                continue
            candidates = [c for c in components if not hidden[c] and values[c] > 0]
            if not candidates and not hidden[total] and values[total] > 0:
                candidates = [total]
            if not candidates:
                continue  # every non-zero cell is already hidden: nothing more to hide
            hidden[min(candidates, key=lambda c: (values[c], c))] = True
            changed = True
    return hidden
