"""helpers.spc against the values in tests/data/spc/nhsrplotthedots_values.md (NHSRplotthedots)."""

from __future__ import annotations

import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

from helpers import spc as spc_module
from helpers.paths import PROJ_ROOT
from helpers.spc import TrialLimitsWarning, assurance, describe, spc, variation

SPC_DATA = PROJ_ROOT / "tests" / "data" / "spc"

# R: set.seed(123); y = rnorm(20)  (from nhsrplotthedots_values.md)
RNORM_20 = [
    -0.56047565,
    -0.23017749,
    1.55870831,
    0.07050839,
    0.12928774,
    1.71506499,
    0.46091621,
    -1.26506123,
    -0.68685285,
    -0.44566197,
    1.22408180,
    0.35981383,
    0.40077145,
    0.11068272,
    -0.55584113,
    1.78691314,
    0.49785048,
    -1.96661716,
    0.70135590,
    -0.47279141,
]
DATES_20 = pd.date_range("2020-01-02", periods=20, freq="D")


def assert_printed(actual: float, printed: str) -> None:
    """``actual`` rounds to ``printed`` (tolerance: half a unit in the last printed decimal)."""
    decimals = -Decimal(printed).as_tuple().exponent
    assert abs(actual - float(printed)) <= 0.5 * 10.0 ** (-decimals) + 1e-12, (actual, printed)


def first_limits(frame: pd.DataFrame) -> tuple[float, float, float]:
    row = frame.iloc[0]
    return float(row["mean"]), float(row["lpl"]), float(row["upl"])


def with_y15_10() -> list[float]:
    y = list(RNORM_20)
    y[14] = 10.0  # R's y[15], 1-based
    return y


# -- the reference values -----------------------------------------------------------------------


def test_rnorm20_screened_limits_and_all_common_cause():
    frame = spc(RNORM_20, DATES_20)
    mean, lpl, upl = first_limits(frame)
    assert_printed(mean, "0.1416238")
    assert_printed(lpl, "-3.01138")
    assert_printed(upl, "3.294627")
    assert (frame["point_type"] == "common_cause").all()
    assert not frame["trial_limits"].any()


def test_outlier_screening_on_drops_the_big_moving_ranges():
    mean, lpl, upl = first_limits(spc(with_y15_10(), DATES_20))
    assert_printed(mean, "0.6694159")
    assert_printed(lpl, "-2.383666")
    assert_printed(upl, "3.722497")


def test_outlier_screening_off_keeps_them():
    mean, lpl, upl = first_limits(spc(with_y15_10(), DATES_20, screen_outliers=False))
    assert_printed(mean, "0.6694159")
    assert_printed(lpl, "-4.596625")
    assert_printed(upl, "5.935457")


def test_the_outlier_itself_is_special_cause_above_the_limit():
    frame = spc(with_y15_10(), DATES_20)
    assert frame.loc[14, "special_cause_type"] == "Above UCL"
    assert frame.loc[14, "point_type"] == "special_cause_improvement"
    assert spc(with_y15_10(), DATES_20, improvement_direction="decrease").loc[14, "point_type"] == (
        "special_cause_concern"
    )


def test_rebase_splits_into_two_groups_with_their_own_limits_and_trial_warning():
    with pytest.warns(TrialLimitsWarning, match="fewer than 12 points"):
        frame = spc(RNORM_20, DATES_20, rebase=[DATES_20[10]])
    assert frame["group"].tolist() == [0] * 10 + [1] * 10
    first = frame[frame["group"] == 0].iloc[0]
    second = frame[frame["group"] == 1].iloc[0]
    assert_printed(first["mean"], "0.0746")
    assert_printed(first["lpl"], "-2.60")
    assert_printed(first["upl"], "2.75")
    assert_printed(second["mean"], "0.209")
    assert_printed(second["lpl"], "-3.28")
    assert_printed(second["upl"], "3.70")
    assert frame["trial_limits"].all()


def test_rebase_date_between_points_starts_the_group_at_the_next_point():
    with pytest.warns(TrialLimitsWarning):
        frame = spc(RNORM_20, DATES_20, rebase=[DATES_20[9] + pd.Timedelta(hours=12)])
    assert frame["group"].tolist() == [0] * 10 + [1] * 10


def test_rebase_accepts_a_single_date():
    with pytest.warns(TrialLimitsWarning):
        frame = spc(RNORM_20, DATES_20, rebase=str(DATES_20[10].date()))
    assert frame["group"].tolist() == [0] * 10 + [1] * 10


def test_rebase_after_the_last_point_is_an_error():
    with pytest.raises(ValueError, match="after the last point"):
        spc(RNORM_20, DATES_20, rebase=["2031-01-01"])


def test_readme_example_rqm_breaches_decrease_target_1200():
    ae = pd.read_csv(SPC_DATA / "ae_attendances.csv", dtype={"type": str})
    rqm = ae[(ae["org_code"] == "RQM") & (ae["type"] == "1") & (ae["period"] < "2018-04-01")]
    assert len(rqm) == 24
    frame = spc(rqm["breaches"], rqm["period"], improvement_direction="decrease", target=1200)
    mean, lpl, upl = first_limits(frame)
    assert_printed(mean, "1545.17")
    assert_printed(lpl, "740.40")
    assert_printed(upl, "2349.94")
    assert frame["point_type"].iloc[-1] == "common_cause"
    assert variation(frame) == "common_cause"
    assert assurance(frame, 1200, "decrease") == "inconsistent"
    assert describe(frame, "decrease") == (
        "common cause variation; the target will sometimes be met and sometimes missed (hit and miss)"
    )
    assert (frame["target"] == 1200).all()


# -- the rule helpers, with NHSRplotthedots' own unit-test vectors ------------------------------


def test_seven_point_trend_flags_only_the_seventh_position():
    assert spc_module._seven_point_trend(np.arange(1, 8)).tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert spc_module._seven_point_trend(np.arange(7, 0, -1)).tolist() == [0, 0, 0, 0, 0, 0, -1]
    assert spc_module._seven_point_trend(np.arange(1, 7)).tolist() == [0] * 6
    # equal values break a trend
    assert spc_module._seven_point_trend(np.array([1, 2, 3, 3, 4, 5, 6])).tolist() == [0] * 7
    assert spc_module._seven_point_trend(np.array([2, 1, 2, 3, 4, 5, 6, 7, 3])).tolist() == (
        [0, 0, 0, 0, 0, 0, 0, 1, 0]
    )


def test_seven_point_one_side_of_mean():
    assert spc_module._seven_point_one_side_mean(np.array([1] * 8 + [-1])).tolist() == ([0, 0, 0, 0, 0, 0, 1, 1, 0])
    assert spc_module._seven_point_one_side_mean(np.array([-1] * 8 + [1])).tolist() == ([0, 0, 0, 0, 0, 0, 1, 1, 0])
    assert spc_module._seven_point_one_side_mean(np.array([1] * 6 + [-1])).tolist() == [0] * 7


def test_part_of_seven_marks_the_whole_run():
    assert spc_module._part_of_seven(np.array([0] * 6 + [1, 0])).tolist() == [1] * 7 + [0]
    assert spc_module._part_of_seven(np.array([0] * 7 + [-1, 0])).tolist() == [0] + [1] * 7 + [0]


def test_two_in_three_needs_all_three_on_one_side():
    same_side = [1] * 7
    assert spc_module._two_in_three(np.array([0, 0, 1, 0, 1, 0, 0]), np.array(same_side)).tolist() == (
        [0, 0, 1, 1, 1, 0, 0]
    )
    assert spc_module._two_in_three(np.array([0, 0, 1, 1, 0, 0, 0]), np.array(same_side)).tolist() == (
        [0, 1, 1, 1, 1, 0, 0]
    )
    alternating = np.array([1, -1, 1, -1, 1, -1, 1])
    assert spc_module._two_in_three(np.array([0, 0, 1, 0, 1, 0, 0]), alternating).tolist() == [0] * 7


def test_rules_in_a_series_first_match_wins():
    # mean 4.8125, limits 1.44 to 8.18: the 1 is below the limit, 1..7 is a rising trend, and
    # the last 7 points sit above the mean (a shift), but the trend and the limit take precedence.
    values = [5, 6, 5, 6, 5, 1, 2, 3, 4, 5, 6, 7, 5, 6, 5, 6]
    frame = spc(values, pd.date_range("2021-01-01", periods=len(values), freq="MS"))
    assert frame["special_cause_type"].tolist() == (
        ["Common Cause"] * 5 + ["Below LCL"] + ["7 Point Trend (Increasing)"] * 6 + ["7 Points Above CL"] * 4
    )
    assert frame["point_type"].tolist() == (
        ["common_cause"] * 5 + ["special_cause_concern"] + ["special_cause_improvement"] * 10
    )


def test_falling_trend_is_concern_when_increase_is_improvement():
    values = [5.0, 5.5] * 3 + [6.0, 5.8, 5.6, 5.4, 5.2, 5.0, 4.8] + [5.0, 5.5]
    frame = spc(values, pd.date_range("2021-01-01", periods=len(values), freq="MS"))
    trend = frame["special_cause_type"] == "7 Point Trend (Decreasing)"
    assert trend.tolist() == [False] * 6 + [True] * 7 + [False] * 2
    assert (frame.loc[trend, "point_type"] == "special_cause_concern").all()


def test_shift_of_seven_points_above_the_mean():
    values = [1.0, 2.0] * 4 + [3.0] * 7 + [1.0, 2.0]
    frame = spc(values, pd.date_range("2021-01-01", periods=len(values), freq="MS"), improvement_direction="neutral")
    flagged = frame["special_cause_type"] == "7 Points Above CL"
    assert flagged.tolist() == [False] * 8 + [True] * 7 + [False] * 2
    assert (frame.loc[flagged, "point_type"] == "special_cause_neutral_high").all()


def test_two_close_points_on_opposite_sides_of_the_mean_stay_common_cause():
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    frame = spc(values, pd.date_range("2020-01-02", periods=16, freq="D"))
    assert frame["point_type"].tail(2).tolist() == ["common_cause", "common_cause"]
    # they are close to the limits, so only the side rule keeps them common cause
    assert frame["value"].iloc[-2] > frame["nupl"].iloc[-2]
    assert frame["value"].iloc[-1] < frame["nlpl"].iloc[-1]


def test_two_close_points_on_one_side_are_special_cause():
    values = [1.0, -1.0] * 8
    values[13], values[14], values[15] = 5.5, 1.0, 5.5
    frame = spc(values, pd.date_range("2020-01-02", periods=16, freq="D"), improvement_direction="decrease")
    assert frame["special_cause_type"].tail(3).tolist() == ["2 in 3 Above CL", "Common Cause", "2 in 3 Above CL"]
    assert variation(frame) == "concern_high"


# -- options, variation, assurance --------------------------------------------------------------


def test_fix_after_n_points_uses_the_first_n_points_only():
    fixed = spc(RNORM_20, DATES_20, fix_after_n_points=12)
    expected = spc(RNORM_20[:12], DATES_20[:12])
    assert first_limits(fixed) == pytest.approx(first_limits(expected), abs=1e-12)
    assert first_limits(fixed) != pytest.approx(first_limits(spc(RNORM_20, DATES_20)))


@pytest.mark.parametrize("bad", [11, 0, 12.5, True, "12"])
def test_fix_after_n_points_below_12_or_not_whole_is_an_error(bad):
    with pytest.raises(ValueError, match="fix_after_n_points"):
        spc(RNORM_20, DATES_20, fix_after_n_points=bad)


@pytest.mark.parametrize(
    ("target", "direction", "expected"),
    [
        (4.0, "increase", "consistent_fail"),
        (-4.0, "increase", "consistent_pass"),
        (4.0, "decrease", "consistent_pass"),
        (-4.0, "decrease", "consistent_fail"),
        (0.0, "increase", "inconsistent"),
        (0.0, "neutral", None),
        (None, "increase", None),
    ],
)
def test_assurance_from_the_last_points_limits(target, direction, expected):
    frame = spc(RNORM_20, DATES_20, improvement_direction=direction)  # limits -3.01 to 3.29
    assert assurance(frame, target, direction) == expected


def test_variation_names_for_special_cause_last_points():
    dates = pd.date_range("2020-01-02", periods=20)
    high = list(RNORM_20[:19]) + [10.0]
    low = list(RNORM_20[:19]) + [-10.0]
    assert variation(spc(high, dates)) == "improvement_high"
    assert variation(spc(low, dates)) == "concern_low"
    assert variation(spc(high, dates, improvement_direction="decrease")) == "concern_high"
    assert variation(spc(low, dates, improvement_direction="decrease")) == "improvement_low"
    assert variation(spc(high, dates, improvement_direction="neutral")) == "neutral_high"
    assert variation(spc(low, dates, improvement_direction="neutral")) == "neutral_low"
    assert describe(spc(low, dates, improvement_direction="decrease", target=0.0), "decrease") == (
        "special cause improvement (lower values); the target will sometimes be met and sometimes missed (hit and miss)"
    )


# -- edge cases ---------------------------------------------------------------------------------


def test_fewer_than_12_points_are_trial_limits_with_a_warning():
    with pytest.warns(TrialLimitsWarning, match="group 0 has 11"):
        frame = spc(RNORM_20[:11], DATES_20[:11])
    assert frame["trial_limits"].all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not spc(RNORM_20[:12], DATES_20[:12])["trial_limits"].any()


def test_constant_series_has_limits_at_the_mean_and_no_signals():
    frame = spc([5.0] * 15, pd.date_range("2020-01-01", periods=15, freq="MS"))
    assert (frame[["mean", "lpl", "upl", "nlpl", "nupl"]] == 5.0).all().all()
    assert (frame["point_type"] == "common_cause").all()


def test_missing_values_are_kept_but_not_typed_and_do_not_break_the_limits():
    values = list(RNORM_20)
    values[5] = np.nan
    frame = spc(values, DATES_20)
    assert len(frame) == 20
    assert frame["point_type"].iloc[5] is None
    assert frame["point_type"].drop(index=5).eq("common_cause").all()
    observed = [v for v in values if not np.isnan(v)]
    assert frame["mean"].iloc[0] == pytest.approx(np.mean(observed))
    # moving ranges either side of the gap are not computed (as in R)
    ranges = np.abs(np.diff(values))
    ranges = ranges[~np.isnan(ranges)]
    assert frame["upl"].iloc[0] == pytest.approx(np.mean(observed) + 2.66 * ranges.mean())


def test_a_rebased_group_of_missing_values_has_no_limits():
    values = [1.0, 2.0, 3.0, 2.0, np.nan, np.nan]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(TrialLimitsWarning):
            frame = spc(values, pd.date_range("2024-01-01", periods=6, freq="MS"), rebase=["2024-05-01"])
    assert frame.loc[frame["group"] == 1, ["mean", "lpl", "upl"]].isna().all().all()
    assert frame.loc[frame["group"] == 1, "point_type"].isna().all()
    assert frame.loc[0, "mean"] == pytest.approx(2.0)


def test_trailing_missing_value_uses_the_last_observed_point():
    values = list(RNORM_20[:19]) + [10.0, np.nan]
    frame = spc(values, pd.date_range("2020-01-02", periods=21))
    assert variation(frame) == "improvement_high"


def test_accepts_nullable_integers_and_python_dates():
    values = pd.Series([3, 4, None, 5] * 3, dtype="Int64")
    dates = [d.date() for d in pd.date_range("2024-01-01", periods=12, freq="MS")]
    with pytest.warns(TrialLimitsWarning, match="group 0 has 9"):  # 12 dates, 9 observed values
        frame = spc(values, dates)
    assert frame["date"].dtype == "datetime64[ns]"
    assert frame["value"].isna().sum() == 3
    assert frame["mean"].iloc[0] == pytest.approx(4.0)


def test_points_are_sorted_by_date():
    frame = spc(RNORM_20[::-1], DATES_20[::-1])
    assert frame["date"].is_monotonic_increasing
    assert frame["value"].tolist() == RNORM_20


@pytest.mark.parametrize(
    ("values", "dates", "message"),
    [
        ([], [], "no points"),
        ([np.nan, np.nan], ["2020-01-01", "2020-02-01"], "every value is missing"),
        ([1, 2], ["2020-01-01"], "2 values but 1 dates"),
        ([1, "x"], ["2020-01-01", "2020-02-01"], r"values\[1\] = 'x' is not a number"),
        ([1, 2], ["2020-01-01", "not a date"], r"dates\[1\] = 'not a date' is not a date"),
        ([1, 2], ["2020-01-01", "2020-01-01"], "duplicate date 2020-01-01"),
    ],
)
def test_bad_input_gives_a_clear_error(values, dates, message):
    with pytest.raises(ValueError, match=message):
        spc(values, dates)


@pytest.mark.parametrize("target", [True, float("nan"), "1200"])
def test_bad_target_is_an_error(target):
    with pytest.raises(ValueError, match="target must be a finite number"):
        spc(RNORM_20, DATES_20, target=target)


def test_bad_direction_is_an_error():
    with pytest.raises(ValueError, match="improvement_direction"):
        spc(RNORM_20, DATES_20, improvement_direction="up")


# -- properties ---------------------------------------------------------------------------------

INTEGER_SERIES = st.lists(st.integers(-1000, 1000), min_size=12, max_size=40)


def _clear_of_limits(frame: pd.DataFrame) -> bool:
    """No point sits (within rounding) on a limit, where a change of rounding could flip it."""
    y = frame["value"].to_numpy()
    scale = max(1.0, float(np.abs(y).max()))
    edges = frame[["lpl", "upl", "nlpl", "nupl"]].to_numpy()
    return bool(np.all(np.abs(y[:, None] - edges) > 1e-9 * scale))


@settings(max_examples=60, deadline=None)
@given(INTEGER_SERIES, st.integers(-10_000, 10_000))
def test_adding_a_constant_shifts_mean_and_limits_and_keeps_point_types(values, constant):
    dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    base = spc(values, dates)
    shifted = spc([v + constant for v in values], dates)
    assume(_clear_of_limits(base) and _clear_of_limits(shifted))
    for column in ["mean", "lpl", "upl", "nlpl", "nupl"]:
        np.testing.assert_allclose(shifted[column], base[column] + constant, rtol=0, atol=1e-8)
    assert shifted["point_type"].tolist() == base["point_type"].tolist()


@settings(max_examples=60, deadline=None)
@given(INTEGER_SERIES, st.sampled_from([0.25, 0.5, 2.0, 8.0, 1024.0]), st.sampled_from(["increase", "decrease"]))
def test_scaling_by_a_power_of_two_scales_limits_exactly_and_keeps_point_types(values, factor, direction):
    dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    base = spc(values, dates, improvement_direction=direction)
    scaled = spc([v * factor for v in values], dates, improvement_direction=direction)
    for column in ["mean", "lpl", "upl"]:
        np.testing.assert_allclose(scaled[column], base[column] * factor, rtol=1e-12)
    assert scaled["point_type"].tolist() == base["point_type"].tolist()


@settings(max_examples=40, deadline=None)
@given(INTEGER_SERIES, st.floats(0.01, 100, allow_nan=False))
def test_scaling_by_any_positive_factor_scales_mean_and_limits(values, factor):
    dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    base = spc(values, dates)
    scaled = spc([v * factor for v in values], dates)
    assume(_clear_of_limits(base) and _clear_of_limits(scaled))
    for column in ["mean", "lpl", "upl"]:
        np.testing.assert_allclose(scaled[column], base[column] * factor, rtol=1e-9, atol=1e-9)
    assert scaled["point_type"].tolist() == base["point_type"].tolist()


def test_a_series_pinned_at_one_value_is_never_called_special_cause():
    """GP practices recruiting pinned at 100% but for two early steps: screening drops both
    non-zero moving ranges, so screened limits would sit on the mean and flag every 100%."""
    from helpers.spc import TOO_LITTLE_VARIATION

    values = [60.0, 80.0] + [100.0] * 20
    dates = pd.date_range("2021-04-01", periods=len(values), freq="QS")
    frame = spc(values, dates)
    ranges = np.abs(np.diff(values))
    unscreened = ranges.mean()
    assert unscreened > 0 and (ranges[ranges < 3.267 * unscreened] == 0).all()  # what screening leaves
    assert frame["unscreened_fallback"].all()
    np.testing.assert_allclose(frame["upl"], np.mean(values) + 2.66 * unscreened)
    assert set(frame["point_type"]) == {"common_cause"}
    assert set(frame["special_cause_type"]) == {TOO_LITTLE_VARIATION}
    assert variation(frame) == "common_cause"


def test_screening_that_leaves_variation_is_not_a_fallback():
    values = [10.0, 12, 11, 13, 12, 11, 10, 12, 11, 13, 40, 12]
    frame = spc(values, pd.date_range("2021-04-01", periods=len(values), freq="QS"))
    assert not frame["unscreened_fallback"].any()
    assert (frame["special_cause_type"] != "Too little variation").all()
