"""helpers.disclosure: NHS Digital small-number suppression, rounding, secondary suppression."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from helpers.disclosure import (
    SUPPRESSED,
    DisclosureError,
    add_total_row,
    disclose_count,
    protect,
    protect_statistic,
    round_count,
    share_from_rounded,
)


def half_up_to_5(n: int) -> int:
    """Reference rounding, written independently of the module: nearest 5, halves up."""
    return int((Decimal(n) / 5).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 5


# ---------------------------------------------------------------------------------------------
# Single counts
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "*"), (7, "*"), (8, 10), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1002, 1000), (1003, 1005)],
)
def test_disclose_count_edges(count, shown):
    assert disclose_count(count) == shown


def test_round_count_returns_none_when_suppressed_and_accepts_whole_floats():
    assert round_count(5) is None
    assert round_count(np.int64(23)) == 25
    assert round_count(23.0) == 25


@pytest.mark.parametrize("bad", [-1, 12.5, float("nan"), "12", None, True])
def test_counts_must_be_whole_and_non_negative(bad):
    with pytest.raises(DisclosureError, match="whole number >= 0"):
        disclose_count(bad)


@given(st.integers(min_value=0, max_value=10**7))
def test_disclosed_count_is_never_small_and_always_a_multiple_of_5(count):
    shown = disclose_count(count)
    if 1 <= count <= 7:
        assert shown == SUPPRESSED
    else:
        assert shown % 5 == 0 and not 1 <= shown <= 7
        assert shown == half_up_to_5(count)
        assert abs(shown - count) <= 2


@pytest.mark.parametrize(("n_people", "shown"), [(0, 3.5), (1, "*"), (7, "*"), (8, 3.5), (200, 3.5)])
def test_protect_statistic_suppresses_means_based_on_1_to_7_people(n_people, shown):
    assert protect_statistic(3.5, n_people) == shown


# ---------------------------------------------------------------------------------------------
# Shares from rounded figures
# ---------------------------------------------------------------------------------------------
def test_share_from_rounded_uses_published_figures():
    shares = share_from_rounded(pd.Series([10, SUPPRESSED, 25, 0], index=list("abcd")), 40)
    assert shares["a"] == pytest.approx(25.0)
    assert shares["b"] == SUPPRESSED
    assert shares["c"] == pytest.approx(62.5)
    assert shares["d"] == 0.0


def test_share_from_rounded_reads_nullable_int_and_series_denominators():
    numerators = pd.Series(pd.array([10, None], dtype="Int64"), index=["x", "y"])
    shares = share_from_rounded(numerators, pd.Series([20, 50], index=["x", "y"]))
    assert shares["x"] == pytest.approx(50.0) and shares["y"] == SUPPRESSED


def test_share_is_suppressed_with_a_suppressed_denominator_and_nan_over_zero():
    assert share_from_rounded([10], SUPPRESSED).tolist() == [SUPPRESSED]
    assert np.isnan(share_from_rounded([0], 0)[0])


def test_share_from_rounded_rejects_unrounded_figures():
    with pytest.raises(DisclosureError, match="not rounded to 5"):
        share_from_rounded([12], 40)
    with pytest.raises(DisclosureError, match="denominator"):
        share_from_rounded([10], 41)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def test_protect_rounds_and_suppresses_without_totals():
    frame = pd.DataFrame({"Group": ["A", "B", "C"], "Participants": [3, 12, 0]})
    out = protect(frame, ["Participants"])
    assert out.display["Participants"].tolist() == [SUPPRESSED, 10, 0]
    assert out.display["Group"].tolist() == ["A", "B", "C"]  # other columns pass through
    assert out.suppressed["Participants"].tolist() == [True, False, False]
    assert out.rounded["Participants"].dtype == "Int64"
    assert out.rounded["Participants"].isna().tolist() == [True, False, False]


def test_single_hidden_cell_under_a_total_gets_a_partner():
    # White 3 alone would be total minus the rest; the next-smallest count (Mixed, 9) goes too.
    frame = pd.DataFrame({"Participants": [3, 9, 40, 60]}, index=["Asian", "Mixed", "Black", "White"])
    out = protect(add_total_row(frame, ["Participants"]), ["Participants"], total_row="Total")
    assert out.display["Participants"].tolist() == [SUPPRESSED, SUPPRESSED, 40, 60, 110]
    assert out.suppressed["Participants"].tolist() == [True, True, False, False, False]


def test_two_hidden_cells_that_rounding_would_pin_get_a_third():
    # Shown: five 10s and a total of 40 -> the two hidden cells would have to be 1 and 1.
    frame = pd.DataFrame({"n": [8, 8, 8, 8, 8, 1, 1]}, index=list("abcdefg"))
    out = protect(add_total_row(frame, ["n"]), ["n"], total_row="Total")
    assert int(out.suppressed["n"].sum()) == 3
    assert out.display.loc["Total", "n"] == 40


def test_small_total_is_suppressed_itself():
    frame = pd.DataFrame({"n": [0, 0, 5]}, index=["a", "b", "c"])
    out = protect(add_total_row(frame, ["n"]), ["n"], total_row="Total")
    assert out.display["n"].tolist() == [0, 0, SUPPRESSED, SUPPRESSED]


def test_all_cells_small():
    frame = pd.DataFrame({"n": [1, 2, 7]}, index=["a", "b", "c"])
    out = protect(add_total_row(frame, ["n"]), ["n"], total_row="Total")
    assert out.display["n"].tolist() == [SUPPRESSED, SUPPRESSED, SUPPRESSED, 10]


def test_two_way_table_with_row_and_column_totals():
    frame = pd.DataFrame({"A": [3, 20, 30], "B": [40, 2, 50]}, index=["x", "y", "z"])
    frame["Total"] = frame["A"] + frame["B"]
    counts = ["A", "B", "Total"]
    out = protect(add_total_row(frame, counts), counts, total_row="Total", total_column="Total")
    # x/A and y/B are small; hiding x/B and y/A (not the totals) makes every row and column safe.
    assert out.suppressed.loc[["x", "y"], ["A", "B"]].to_numpy().all()
    assert not out.suppressed.loc[["z", "Total"]].to_numpy().any()
    assert not out.suppressed["Total"].any()


def test_group_by_protects_each_group_against_its_own_total():
    frame = pd.DataFrame(
        {
            "Place": ["Coventry"] * 3 + ["Rugby"] * 3,
            "Group": ["a", "b", "Total", "a", "b", "Total"],
            "n": [4, 30, 34, 20, 30, 50],
        }
    ).set_index(["Place", "Group"])
    out = protect(frame, ["n"], total_row="Total", group_by="Place")
    assert out.display["n"].tolist() == [SUPPRESSED, SUPPRESSED, 35, 20, 30, 50]
    with pytest.raises(DisclosureError, match="group 'Rugby' has 0 rows labelled 'Total'"):
        protect(frame.drop(("Rugby", "Total")), ["n"], total_row="Total", group_by="Place")


def test_repeated_index_labels_are_handled_by_position():
    frame = pd.DataFrame({"n": [3, 20, 40]}, index=["Coventry", "Coventry", "Total"])
    out = protect(frame, ["n"], total_row="Total")
    assert out.display["n"].tolist() == [SUPPRESSED, SUPPRESSED, 40]


def test_empty_frame():
    frame = pd.DataFrame({"n": pd.Series([], dtype="int64")})
    out = protect(frame, ["n"])
    assert out.display.empty and out.suppressed.empty and list(out.display.columns) == ["n"]


def test_bad_count_names_column_and_row():
    frame = pd.DataFrame({"n": [10, -2]}, index=["Coventry", "Rugby"])
    with pytest.raises(DisclosureError, match=r"column 'n', row 'Rugby'"):
        protect(frame, ["n"])
    frame = pd.DataFrame({"n": [10.0, np.nan]}, index=["Coventry", "Rugby"])
    with pytest.raises(DisclosureError, match=r"column 'n', row 'Rugby': count is missing"):
        protect(frame, ["n"])


def test_missing_columns_and_total_rows_are_reported():
    frame = pd.DataFrame({"n": [10, 20]}, index=["a", "b"])
    with pytest.raises(DisclosureError, match=r"\['m'\] not in the frame"):
        protect(frame, ["m"])
    with pytest.raises(DisclosureError, match="0 rows labelled 'Total'"):
        protect(frame, ["n"], total_row="Total")
    with pytest.raises(DisclosureError, match="must be one of the count columns"):
        protect(frame, ["n"], total_column="m")


# ---------------------------------------------------------------------------------------------
# Properties of protected tables
# ---------------------------------------------------------------------------------------------
# Edge values weigh more: 1 and 7 bound the suppressed range; 8, 13, 18 round up by 2 and 12, 22
# down by 2, which is where rounding intervals can pin hidden cells.
cell_values = st.one_of(st.just(0), st.integers(1, 7), st.sampled_from([1, 7, 8, 12, 13, 18, 22]), st.integers(8, 60))


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 9 if n_cols == 1 else 5))  # long single columns reach 7+ cells
    values = np.array(draw(st.lists(cell_values, min_size=n_rows * n_cols, max_size=n_rows * n_cols)))
    frame = pd.DataFrame(
        values.reshape(n_rows, n_cols), columns=[f"c{j}" for j in range(n_cols)], index=[f"r{i}" for i in range(n_rows)]
    )
    counts = list(frame.columns)
    total_column = None
    if draw(st.booleans()):
        frame["Total"] = frame[counts].sum(axis=1)
        counts.append("Total")
        total_column = "Total"
    total_row = None
    if draw(st.booleans()):
        frame = add_total_row(frame, counts, "All")
        total_row = "All"
    return frame, counts, total_row, total_column


def lines_of(frame, counts, total_row, total_column):
    """Each published relation as (component cells, total cell), as (row label, column) pairs."""
    lines = []
    if total_row is not None:
        for column in counts:
            lines.append(([(r, column) for r in frame.index if r != total_row], (total_row, column)))
    if total_column is not None:
        for r in frame.index:
            lines.append(([(r, c) for c in counts if c != total_column], (r, total_column)))
    return lines


def possible_values(shown, cap: int) -> np.ndarray:
    """Indicator over 0..cap-1 of every true value a reader could believe behind a published figure."""
    options = np.zeros(cap, dtype=bool)
    if shown == SUPPRESSED:
        options[1:] = True  # zeros are shown; a hidden cell could be anything >= 1
    elif shown == 0:
        options[0] = True
    else:
        options[max(8, shown - 2) : shown + 3] = True
    return options


def reachable_sums(indicators, cap: int) -> np.ndarray:
    """Indicator of every sum of one value from each set (brute force by convolution)."""
    sums = np.zeros(cap, dtype=bool)
    sums[0] = True
    for options in indicators:
        sums = np.convolve(sums, options)[:cap] > 0
    return sums


@settings(max_examples=300, deadline=None)
@given(tables())
def test_protected_tables_never_disclose_small_counts_or_a_recoverable_cell(table):
    frame, counts, total_row, total_column = table
    out = protect(frame, counts, total_row=total_row, total_column=total_column)
    for column in counts:
        for label in frame.index:
            true, shown = int(frame.loc[label, column]), out.display.loc[label, column]
            if 1 <= true <= 7:
                assert shown == SUPPRESSED  # primary suppression
            if true == 0:
                assert shown == 0  # zero is never hidden
            if shown != SUPPRESSED:
                assert shown % 5 == 0 and not 1 <= shown <= 7
                assert shown == half_up_to_5(true)
            assert out.suppressed.loc[label, column] == (shown == SUPPRESSED)

    assert_no_hidden_cell_recoverable(out.display, lines_of(frame, counts, total_row, total_column))


# Cells that round up by 2 (8, 13, 18) next to 1s: where the rounding intervals of a long line can
# leave only one reading of two hidden cells (e.g. 8,8,8,8,8,1,1 with a total of 42).
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([1, 1, 2, 8, 13, 18, 0]), min_size=2, max_size=10))
def test_rounding_intervals_cannot_pin_hidden_cells_in_a_long_line(values):
    frame = add_total_row(pd.DataFrame({"n": values}, index=[f"r{i}" for i in range(len(values))]), ["n"])
    out = protect(frame, ["n"], total_row="Total")
    assert_no_hidden_cell_recoverable(out.display, lines_of(frame, ["n"], "Total", None))


def assert_no_hidden_cell_recoverable(display, lines):
    """Per line: never exactly one hidden cell, and every hidden cell keeps two or more readings."""
    for components, total in lines:
        cells = components + [total]
        shown = [display.loc[c] for c in cells]
        hidden = [k for k, s in enumerate(shown) if s == SUPPRESSED]
        # A line with one hidden cell gives it back as total minus the rest.
        assert len(hidden) != 1, (cells, shown)
        # Brute force: with the rounding intervals, every hidden cell still has two or more values
        # consistent with the published figures of its line.
        # Values above cap only add readings (it bounds every true value whose line has a shown
        # total), so cutting them off can only make this check stricter.
        cap = sum(s for s in shown if s != SUPPRESSED) + 3 * len(shown) + 20
        options = [possible_values(s, cap) for s in shown]
        for k in hidden:
            others = reachable_sums([options[m] for m in range(len(cells) - 1) if m != k], cap)
            if k == len(cells) - 1:
                feasible = np.flatnonzero(others & options[k])
            else:
                # v is feasible when total - v is a reachable sum of the others.
                differences = np.convolve(options[-1], others[::-1])[cap - 1 :] > 0
                feasible = np.flatnonzero(options[k] & differences)
            assert len(feasible) >= 2, (cells, shown, k, list(feasible)[:5])


@settings(max_examples=100, deadline=None)
@given(tables())
def test_shares_of_a_protected_table_come_from_rounded_figures(table):
    frame, counts, total_row, total_column = table
    if total_row is None:
        frame, total_row = add_total_row(frame, counts, "All"), "All"
    out = protect(frame, counts, total_row=total_row, total_column=total_column)
    column = counts[0]
    shares = share_from_rounded(out.display[column], out.display.loc[total_row, column])
    for label in frame.index:
        top, bottom = out.display.loc[label, column], out.display.loc[total_row, column]
        if SUPPRESSED in (top, bottom):
            assert shares[label] == SUPPRESSED
        elif bottom == 0:
            assert np.isnan(shares[label])
        else:
            assert shares[label] == pytest.approx(100 * top / bottom)
