"""Making Data Count statistical process control (XmR charts), as NHSRplotthedots computes it.

Rules (NHSRplotthedots ``ptd_spc_standard`` and ``ptd_calculate_point_type``):

- centre = mean of the group; moving range ``mr = |diff(y)|``; ``amr = mean(mr)``. With outlier
  screening (default) moving ranges ``>= 3.267 * amr`` are dropped and ``amr`` recomputed.
- process limits ``mean +/- 2.66 * amr``; near limits ``mean +/- (2/3 * 2.66) * amr``.
- a point is special cause when, first match wins: beyond a process limit; part of 7 points
  strictly rising or falling; one of 2-of-3 points beyond a near limit, all 3 on one side of the
  mean; part of 7 points on one side of the mean (a point on the mean breaks the run).

Choices where NHSRplotthedots is silent or returns NaN (documented in docs/spc.md):

- Missing values (NaN) stay in the output with ``point_type`` None. Moving ranges next to a gap are
  not computed (as in R); the run rules skip the gap (it neither extends nor breaks a run).
- A constant series has ``amr = 0``: screening is skipped (R drops every range and returns NaN
  limits); limits equal the mean and every point is common cause.
- ``fix_after_n_points`` counts observed (non-missing) points; so does the 12-point trial threshold.
- A rebase date starts a new group at the first point on or after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

LIMIT = 2.66
NEAR_LIMIT = 2 * LIMIT / 3
SCREEN_FACTOR = 3.267
MIN_POINTS = 12  # fewer points than this in a group: trial limits
# special_cause_type of every point in a group with too little variation for XmR (see _one_group)
TOO_LITTLE_VARIATION = "Too little variation"

Direction = Literal["increase", "decrease", "neutral"]
_DIRECTION_SIGN = {"increase": 1, "decrease": -1, "neutral": 0}

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
VARIATIONS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neutral_high",
    "neutral_low",
)
ASSURANCES = ("consistent_pass", "consistent_fail", "inconsistent")


class TrialLimitsWarning(UserWarning):
    """A group has fewer than 12 points, so its limits are only trial limits."""


# -- the rule helpers, one per NHSRplotthedots function -----------------------------------------


def _seven_point_one_side_mean(relative_to_mean: np.ndarray) -> np.ndarray:
    """1 where this point and the 6 before it are on the same (non-zero) side of the mean."""
    v = np.asarray(relative_to_mean, dtype=float)
    out = np.zeros(len(v))
    for i in range(6, len(v)):
        window = v[i - 6 : i + 1]
        out[i] = float(v[i] != 0 and np.all(window == v[i]))
    return out


def _part_of_seven(flags: np.ndarray) -> np.ndarray:
    """1 where this point or one of the next 6 ends a 7-point run (so the point is in the run)."""
    v = np.asarray(flags, dtype=float)
    padded = np.concatenate([v, np.zeros(6)])
    return np.array([float(np.any(np.abs(padded[i : i + 7]) == 1)) for i in range(len(v))])


def _seven_point_trend(y: np.ndarray) -> np.ndarray:
    """1 / -1 where this point ends 7 strictly rising / falling points (equal values break it)."""
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(y))
    for i in range(6, len(y)):
        steps = np.sign(np.diff(y[i - 6 : i + 1]))
        if np.all(steps == 1):
            out[i] = 1
        elif np.all(steps == -1):
            out[i] = -1
    return out


def _two_in_three(close: np.ndarray, relative_to_mean: np.ndarray) -> np.ndarray:
    """1 where a window of 3 holding this point has >= 2 close points, all 3 on one side."""
    n = len(close)
    vp = np.concatenate([np.zeros(2), np.asarray(close, dtype=float), np.zeros(2)])
    rp = np.concatenate([np.zeros(2), np.asarray(relative_to_mean, dtype=float), np.zeros(2)])
    out = np.zeros(n)
    for i in range(n):
        out[i] = float(
            any(vp[i + k : i + k + 3].sum() >= 2 and abs(rp[i + k : i + k + 3].sum()) == 3 for k in range(3))
        )
    return out


def _special_cause_type(
    y: np.ndarray, relative_to_mean: np.ndarray, close: np.ndarray, outside: np.ndarray
) -> list[str]:
    """NHSRplotthedots' label for each point, e.g. 'Above UCL' or 'Common Cause'."""
    n = len(y)
    trend = _part_of_seven(_seven_point_trend(y))
    two_of_three = (_two_in_three(close, relative_to_mean) == 1) & (np.abs(close) == 1)
    shift = _part_of_seven(_seven_point_one_side_mean(relative_to_mean))
    # A trend point's direction: the step to its right if the next point is in the trend too,
    # else the step from its left.
    steps = np.sign(np.diff(y))
    right = np.concatenate([steps, steps[-1:]]) if n > 1 else np.zeros(n)
    left = np.concatenate([[0.0], steps])[:n]
    next_in_trend = np.concatenate([trend[1:], [0.0]]) if n else trend
    trend_sign = np.where((next_in_trend != 0) & (trend != 0), right, left)

    labels = []
    for i in range(n):
        side = "Above" if relative_to_mean[i] > 0 else "Below"
        if outside[i]:
            labels.append("Above UCL" if relative_to_mean[i] == 1 else "Below LCL")
        elif trend[i]:
            labels.append(f"7 Point Trend ({'In' if trend_sign[i] == 1 else 'De'}creasing)")
        elif two_of_three[i]:
            labels.append(f"2 in 3 {side} CL")
        elif shift[i]:
            labels.append(f"7 Points {side} CL")
        else:
            labels.append("Common Cause")
    return labels


def _signal_sign(special_cause_type: str) -> int:
    if "Above" in special_cause_type or "Increasing" in special_cause_type:
        return 1
    if "Below" in special_cause_type or "Decreasing" in special_cause_type:
        return -1
    return 0


def _point_type(signal: int, direction_sign: int) -> str:
    if signal == 0:
        return "common_cause"
    if direction_sign == 0:
        return "special_cause_neutral_high" if signal > 0 else "special_cause_neutral_low"
    return "special_cause_improvement" if signal * direction_sign > 0 else "special_cause_concern"


# -- input checks -------------------------------------------------------------------------------


def _as_values(values: Iterable) -> np.ndarray:
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy())
    numbers = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & numbers.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"spc: values[{i}] = {series.iloc[i]!r} is not a number")
    out = numbers.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(out).any():
        i = int(np.flatnonzero(np.isinf(out))[0])
        raise ValueError(f"spc: values[{i}] is infinite")
    return out


def _as_dates(dates: Iterable, what: str = "dates") -> pd.DatetimeIndex:
    items = list(dates) if not isinstance(dates, (pd.Series, pd.Index)) else list(dates.to_numpy())
    parsed = []
    for i, item in enumerate(items):
        try:
            stamp = pd.Timestamp(item)
        except (ValueError, TypeError) as err:
            raise ValueError(f"spc: {what}[{i}] = {item!r} is not a date") from err
        if pd.isna(stamp):
            raise ValueError(f"spc: {what}[{i}] is missing; every point needs a date")
        parsed.append(stamp)
    return pd.DatetimeIndex(parsed).as_unit("ns") if parsed else pd.DatetimeIndex([], dtype="datetime64[ns]")


def _check_options(improvement_direction, fix_after_n_points, target) -> None:
    if improvement_direction not in _DIRECTION_SIGN:
        raise ValueError(
            f"spc: improvement_direction must be 'increase', 'decrease' or 'neutral', got {improvement_direction!r}"
        )
    if fix_after_n_points is not None:
        if isinstance(fix_after_n_points, bool) or not isinstance(fix_after_n_points, (int, np.integer)):
            raise ValueError(f"spc: fix_after_n_points must be a whole number, got {fix_after_n_points!r}")
        if fix_after_n_points < MIN_POINTS:
            raise ValueError(f"spc: fix_after_n_points must be at least {MIN_POINTS}, got {fix_after_n_points}")
    if target is not None and (
        isinstance(target, bool) or not (isinstance(target, (int, float, np.number)) and np.isfinite(target))
    ):
        raise ValueError(f"spc: target must be a finite number or None, got {target!r}")


# -- the public functions -----------------------------------------------------------------------


def spc(
    values: Iterable,
    dates: Iterable,
    *,
    improvement_direction: Direction = "increase",
    target: float | None = None,
    rebase: Sequence | None = None,
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
) -> pd.DataFrame:
    """One row per point, sorted by date: ``date, value, group, mean, lpl, upl, nlpl, nupl,
    trial_limits, unscreened_fallback, relative_to_mean, special_cause_type, point_type, target``.

    ``unscreened_fallback`` is True in a group with too little variation for XmR (every moving range
    left after screening is zero while the values differ): its limits use the unscreened average
    moving range, and its points are common cause (``special_cause_type`` "Too little variation")."""
    _check_options(improvement_direction, fix_after_n_points, target)
    y = _as_values(values)
    when = _as_dates(dates)
    if len(y) != len(when):
        raise ValueError(f"spc: {len(y)} values but {len(when)} dates; they must pair up")
    if len(y) == 0:
        raise ValueError("spc: no points given; an SPC chart needs at least one value")
    if when.has_duplicates:
        raise ValueError(f"spc: duplicate date {when[when.duplicated()][0].date()}; one value per date")
    if np.all(np.isnan(y)):
        raise ValueError("spc: every value is missing; an SPC chart needs at least one number")

    order = np.argsort(when.to_numpy(), kind="stable")
    y, when = y[order], when[order]
    if rebase is None:
        rebase = []
    elif isinstance(rebase, (str, pd.Timestamp, np.datetime64)) or not isinstance(rebase, Iterable):
        rebase = [rebase]  # one date given on its own
    group = np.zeros(len(y), dtype=int)
    for start in sorted(_as_dates(rebase, "rebase")):
        if start > when[-1]:
            raise ValueError(f"spc: rebase date {start.date()} is after the last point {when[-1].date()}")
        group += (when >= start).astype(int) if start > when[0] else 0
    # Renumber so groups are 0, 1, 2 ... even if two rebase dates fall before the same point.
    group = pd.factorize(group)[0]

    frame = pd.DataFrame({"date": when, "value": y, "group": group})
    direction_sign = _DIRECTION_SIGN[improvement_direction]
    parts = [
        _one_group(part, fix_after_n_points, screen_outliers, direction_sign)
        for _, part in frame.groupby("group", sort=True)
    ]
    out = pd.concat(parts, ignore_index=True)
    out["target"] = np.nan if target is None else float(target)

    short = out.loc[out["trial_limits"], "group"].unique()
    if len(short):
        sizes = ", ".join(f"group {g} has {int(out.loc[out['group'] == g, 'value'].notna().sum())}" for g in short)
        warnings.warn(
            f"spc: fewer than {MIN_POINTS} points ({sizes}); limits are trial limits",
            TrialLimitsWarning,
            stacklevel=2,
        )
    out.attrs["improvement_direction"] = improvement_direction
    return out


def _one_group(part: pd.DataFrame, fix_after: int | None, screen: bool, direction_sign: int) -> pd.DataFrame:
    y = part["value"].to_numpy()
    observed = ~np.isnan(y)
    fix_y = y.copy()
    if fix_after is not None:
        fix_y[np.cumsum(observed) > fix_after] = np.nan
    # A group of missing values only (possible after a rebase) has no mean or limits.
    mean = float(np.mean(fix_y[~np.isnan(fix_y)])) if np.any(~np.isnan(fix_y)) else np.nan
    mr = np.abs(np.diff(fix_y))
    amr = np.nanmean(mr) if np.any(~np.isnan(mr)) else np.nan
    # amr == 0 (constant series): nothing to screen; R would drop every range and give NaN.
    fallback = False
    if screen and amr > 0:
        kept = mr[mr < SCREEN_FACTOR * amr]  # NaN ranges (next to a gap) compare False: dropped
        screened = float(np.mean(kept)) if kept.size else 0.0
        # Too little variation for XmR: no non-zero range is left after screening while the values
        # differ (a series pinned at one value but for a few steps). Screened limits would collapse
        # onto the mean and call every other value special cause: the unscreened range is kept for
        # the drawn limits and no point is called special cause (docs/spc.md).
        if screened > 0:
            amr = screened
        else:
            fallback = True
    out = part.copy().reset_index(drop=True)
    out["mean"] = mean
    out["lpl"] = mean - LIMIT * amr
    out["upl"] = mean + LIMIT * amr
    out["nlpl"] = mean - NEAR_LIMIT * amr
    out["nupl"] = mean + NEAR_LIMIT * amr
    out["trial_limits"] = bool(observed.sum() < MIN_POINTS)
    out["unscreened_fallback"] = fallback

    # The run rules see only observed points, so a gap neither breaks nor extends a run.
    yo = y[observed]
    lpl, upl = out["lpl"].iloc[0], out["upl"].iloc[0]
    nlpl, nupl = out["nlpl"].iloc[0], out["nupl"].iloc[0]
    outside = (yo > upl) | (yo < lpl)
    relative = np.sign(yo - mean)
    close = (~outside & ((yo < nlpl) | (yo > nupl))).astype(float)
    labels = _special_cause_type(yo, relative, close, outside)
    if fallback:  # too little variation to judge: no point is called special cause
        labels = [TOO_LITTLE_VARIATION] * len(labels)

    out["relative_to_mean"] = np.nan
    out.loc[observed, "relative_to_mean"] = relative
    out["special_cause_type"] = pd.Series([None] * len(out), dtype=object)
    out.loc[observed, "special_cause_type"] = labels
    out["point_type"] = pd.Series([None] * len(out), dtype=object)
    out.loc[observed, "point_type"] = [_point_type(_signal_sign(s), direction_sign) for s in labels]
    return out


def _last_point(frame: pd.DataFrame) -> pd.Series:
    if frame is None or len(frame) == 0:
        raise ValueError("spc: the SPC frame is empty")
    missing = {"value", "mean", "lpl", "upl", "point_type"} - set(frame.columns)
    if missing:
        raise ValueError(f"spc: frame lacks column(s) {sorted(missing)}; pass the result of spc()")
    observed = frame[frame["value"].notna()]
    if observed.empty:
        raise ValueError("spc: the SPC frame has no observed values")
    return observed.iloc[-1]


def variation(frame: pd.DataFrame) -> str:
    """The variation icon for the latest point: one of :data:`VARIATIONS`.

    High/low is the direction of the signal (above or below the mean; rising or falling for a
    trend), which is above/below the mean for every rule except a trend that crosses it.
    """
    last = _last_point(frame)
    point_type = last["point_type"]
    if point_type == "common_cause":
        return "common_cause"
    label = last.get("special_cause_type")
    signal = _signal_sign(label) if isinstance(label, str) else int(np.sign(last["value"] - last["mean"]))
    side = "high" if signal > 0 else "low"
    kind = {
        "special_cause_improvement": "improvement",
        "special_cause_concern": "concern",
        "special_cause_neutral_high": "neutral",
        "special_cause_neutral_low": "neutral",
    }[point_type]
    return f"{kind}_{side}"


def assurance(frame: pd.DataFrame, target: float | None, improvement_direction: Direction) -> str | None:
    """Whether the latest limits say the target will be met: :data:`ASSURANCES` or None.

    None when there is no target, the direction is neutral, or the limits are unknown (one point).
    """
    if improvement_direction not in _DIRECTION_SIGN:
        raise ValueError(f"spc: improvement_direction must be increase/decrease/neutral, got {improvement_direction!r}")
    if target is None or (isinstance(target, float) and np.isnan(target)) or improvement_direction == "neutral":
        return None
    last = _last_point(frame)
    lpl, upl = float(last["lpl"]), float(last["upl"])
    if np.isnan(lpl) or np.isnan(upl):
        return None
    increasing = improvement_direction == "increase"
    if target > upl:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


VARIATION_WORDS = {
    "common_cause": "common cause variation",
    "improvement_high": "special cause improvement (higher values)",
    "improvement_low": "special cause improvement (lower values)",
    "concern_high": "special cause concern (higher values)",
    "concern_low": "special cause concern (lower values)",
    "neutral_high": "special cause variation, neither improvement nor concern (higher values)",
    "neutral_low": "special cause variation, neither improvement nor concern (lower values)",
}
ASSURANCE_WORDS = {
    "consistent_pass": "the target will consistently be met",
    "consistent_fail": "the target will consistently be missed",
    "inconsistent": "the target will sometimes be met and sometimes missed (hit and miss)",
}


def describe(frame: pd.DataFrame, improvement_direction: Direction) -> str:
    """One line in words, e.g. 'common cause variation; the target will consistently be missed'.

    The target is read from the frame's ``target`` column (set by :func:`spc`).
    """
    words = VARIATION_WORDS[variation(frame)]
    target = None
    if "target" in frame.columns and frame["target"].notna().any():
        target = float(frame["target"].dropna().iloc[-1])
    level = assurance(frame, target, improvement_direction)
    if level is not None:
        words += "; " + ASSURANCE_WORDS[level]
    return words
