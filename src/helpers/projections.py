"""Where a KPI with a target date is heading: its trend projected to the target quarter.

For every KPI with a target in ``params/targets.yml`` whose target quarter is still ahead, a
straight line is fitted by ordinary least squares to the KPI's quarterly values over its current
SPC period (from its last rebase quarter; see :func:`trend_start`) against the quarter index, and
carried on to the target quarter with an 80% prediction interval from Student's t distribution.
The rate needed per quarter is the gap from the latest value to the target, spread evenly over the
quarters left. The method, with a worked example, is in docs/projections.md.

:func:`project` works on any series; :func:`project_kpi` takes a headline KPI's series and target;
:func:`kpi_projections` computes every KPI's from the data, as the scorecard does.
:func:`projection_sentence` says it in words and :func:`projection_points` gives the frame a chart
draws (quarter, fit, low, high) from the latest quarter to the target quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.kpis import KPIS, PLAN
from helpers.narrative import format_value
from helpers.quarters import Quarter, parse
from helpers.tables import format_money, format_number
from helpers.targets import Target

CONFIDENCE = 0.80  # the prediction interval's coverage (docs/projections.md says why 80%)
MIN_POINTS = 4  # fewer points than this: no projection (two degrees of freedom at least)

# A few words for each KPI with a target, as the projection sentence names it (the subject of
# "reaches": singular).
SHORT_NAMES: dict[str, str] = {
    "commercial_income": "income",
    "studies_open_pct_precovid": "the share of pre-Covid studies open",
    "participants_per_10k": "participation",
    "cross_system_studies": "the count of cross-system studies",
}


class ProjectionError(ValueError):
    """A projection asked of something that cannot give one (bad arguments, not too little data)."""


# -- Student's t quantile (no scipy in the environment) -------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ProjectionError(f"t_cdf: degrees of freedom must be positive, got {df}")
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`,
    to 1e-12): ``t_quantile(0.9, 2)`` is 1.885618."""
    if not 0.0 < p < 1.0:
        raise ProjectionError(f"t_quantile: p must be between 0 and 1, got {p}")
    if df <= 0:
        raise ProjectionError(f"t_quantile: degrees of freedom must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


# -- the fit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """An OLS line ``value = intercept + slope * x`` with ``x`` counted in quarters from the first point."""

    first: Quarter  # x = 0
    n: int
    slope: float
    intercept: float
    mean_x: float
    sxx: float  # sum of (x - mean x)^2
    residual_se: float  # sqrt(sum of squared residuals / (n - 2))

    def value_at(self, quarter: Quarter) -> float:
        return self.intercept + self.slope * (quarter.ordinal - self.first.ordinal)

    def half_width(self, quarter: Quarter, confidence: float = CONFIDENCE) -> float:
        """Half the prediction interval for one new value at ``quarter``:
        ``t * s * sqrt(1 + 1/n + (x0 - mean x)^2 / Sxx)``."""
        x0 = quarter.ordinal - self.first.ordinal
        t = t_quantile((1.0 + confidence) / 2.0, self.n - 2)
        return t * self.residual_se * math.sqrt(1.0 + 1.0 / self.n + (x0 - self.mean_x) ** 2 / self.sxx)


def fit_line(values: pd.Series) -> Fit:
    """OLS of ``values`` (indexed by quarter ids, NaN dropped) on the quarter index.

    Needs at least :data:`MIN_POINTS` values (ProjectionError otherwise)."""
    quarters, y = _points(values)
    if len(y) < MIN_POINTS:
        raise ProjectionError(f"fit_line: {len(y)} value(s); a trend needs at least {MIN_POINTS}")
    first = quarters[0]
    x = np.array([q.ordinal - first.ordinal for q in quarters], dtype=float)
    mean_x, mean_y = float(x.mean()), float(y.mean())
    sxx = float(((x - mean_x) ** 2).sum())
    slope = float(((x - mean_x) * (y - mean_y)).sum() / sxx)
    intercept = mean_y - slope * mean_x
    residuals = y - (intercept + slope * x)
    sse = float((residuals**2).sum())
    # A perfect line leaves float noise of about 1e-16 of the values: call it zero.
    if sse <= (1e-12 * max(1.0, float(np.abs(y).max()))) ** 2 * len(y):
        sse = 0.0
    return Fit(first, len(y), slope, intercept, mean_x, sxx, math.sqrt(sse / (len(y) - 2)))


def _points(values: pd.Series) -> tuple[list[Quarter], np.ndarray]:
    if not isinstance(values, pd.Series):
        raise ProjectionError(f"expected a Series indexed by quarter, got {type(values).__name__}")
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    kept = numbers[numbers.notna() & np.isfinite(numbers)]
    quarters = [parse(str(q)) for q in kept.index]
    order = np.argsort([q.ordinal for q in quarters], kind="stable")
    quarters = [quarters[i] for i in order]
    if len({q.ordinal for q in quarters}) != len(quarters):
        raise ProjectionError("the series has a quarter more than once; one value per quarter")
    return quarters, kept.to_numpy()[order]


# -- the projection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """A KPI's trend carried to its target quarter, or why there is none (``reason``).

    ``share_low``/``share_high``: the interval as % of the target. ``needed_per_quarter``: the
    change a quarter from the latest value that reaches the target by its quarter (0 when the
    latest value already meets it). ``on_course``: the projected value meets the target."""

    kpi: str
    what: str  # the KPI in a few words, for the sentence
    unit: str
    direction: str
    start: Quarter  # the first quarter of the trend
    latest: Quarter  # the latest quarter with a value
    target_quarter: Quarter
    target: float
    latest_value: float | None = None
    points: int = 0
    projected: float | None = None
    low: float | None = None
    high: float | None = None
    share_low: float | None = None
    share_high: float | None = None
    needed_per_quarter: float | None = None
    slope_per_quarter: float | None = None
    on_course: bool | None = None
    target_met: bool = False  # the latest value already meets the target
    confidence: float = CONFIDENCE
    reason: str | None = None  # set when there is no projection
    fit: Fit | None = None
    # the plan's trajectory at each quarter from ``latest`` to ``target_quarter`` (empty: not known)
    trajectory: tuple[float, ...] = ()

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def quarters_left(self) -> int:
        return self.target_quarter.ordinal - self.latest.ordinal


def _meets(value: float, target: float, direction: str) -> bool:
    slack = 1e-9 * max(1.0, abs(target))
    return value <= target + slack if direction == "decrease" else value >= target - slack


def project(
    values: pd.Series,
    target: float,
    target_quarter: str | Quarter,
    *,
    start: str | Quarter | None = None,
    direction: str = "increase",
    unit: str = "count",
    kpi: str = "",
    what: str = "",
    confidence: float = CONFIDENCE,
) -> Projection:
    """Fit the trend of ``values`` (indexed by quarter ids) from ``start`` (default: the first
    value) and project it to ``target_quarter``.

    No projection (``reason`` set) when fewer than :data:`MIN_POINTS` values from ``start``, or
    the target quarter is not after the latest value's."""
    if direction not in ("increase", "decrease"):
        raise ProjectionError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    if not 0.0 < confidence < 1.0:
        raise ProjectionError(f"confidence must be between 0 and 1, got {confidence}")
    target = float(target)
    if not math.isfinite(target):
        raise ProjectionError(f"target must be a finite number, got {target!r}")
    target_quarter = parse(target_quarter)
    quarters, y = _points(values)
    if start is not None:
        start = parse(start)
        kept = [i for i, q in enumerate(quarters) if q >= start]
        quarters, y = [quarters[i] for i in kept], y[kept]
    first = quarters[0] if quarters else (start or target_quarter)  # the first quarter fitted
    common = dict(kpi=kpi, what=what or kpi, unit=unit, direction=direction, target=target, confidence=confidence)
    if not quarters:
        return Projection(
            start=first, latest=first, target_quarter=target_quarter, reason="no values to fit a trend to", **common
        )
    latest, latest_value = quarters[-1], float(y[-1])
    common |= dict(start=quarters[0], latest=latest, target_quarter=target_quarter, latest_value=latest_value)
    common["points"] = len(y)
    met = _meets(latest_value, target, direction)
    if target_quarter <= latest:
        return Projection(
            target_met=met,
            reason=f"the target date {target_quarter.label} has passed (data to {latest.label})",
            **common,
        )
    if len(y) < MIN_POINTS:
        return Projection(
            target_met=met,
            reason=(
                f"{len(y)} quarter{'' if len(y) == 1 else 's'} of data since {common['start'].label}; "
                f"a trend needs at least {MIN_POINTS}"
            ),
            **common,
        )
    series = pd.Series(y, index=[q.id for q in quarters])
    fit = fit_line(series)
    projected = fit.value_at(target_quarter)
    half = fit.half_width(target_quarter, confidence)
    low, high = projected - half, projected + half
    left = target_quarter.ordinal - latest.ordinal
    needed = 0.0 if met else (target - latest_value) / left
    shares = (math.nan, math.nan) if target == 0 else (100 * low / target, 100 * high / target)
    return Projection(
        projected=projected,
        low=low,
        high=high,
        share_low=shares[0],
        share_high=shares[1],
        needed_per_quarter=needed,
        slope_per_quarter=fit.slope,
        on_course=_meets(projected, target, direction),
        target_met=met,
        fit=fit,
        **common,
    )


def trend_start(kpi: str, series: pd.Series) -> Quarter:
    """The first quarter of a KPI's current SPC period: its last rebase quarter inside the series
    (:data:`helpers.kpis.Kpi.rebase`); for a KPI with none (charted as a run or against its
    trajectory), the plan's first quarter (2023/24 Q1), or the series' first quarter if later."""
    entry = KPIS[kpi]
    quarters = sorted(parse(str(q)) for q in series.dropna().index)
    if not quarters:
        return parse(PLAN.quarter)
    rebases = [parse(r.quarter) for r in entry.rebase if quarters[0] < parse(r.quarter) <= quarters[-1]]
    start = max(rebases) if rebases else parse(PLAN.quarter)
    return max(start, quarters[0])


def project_kpi(
    kpi: str,
    series: pd.Series,
    target: Target,
    *,
    baseline_value: float | None = None,
    start: str | Quarter | None = None,
    confidence: float = CONFIDENCE,
) -> Projection:
    """A headline KPI's :func:`project` to its target: ``series`` as :func:`helpers.kpis` gives it
    (values by quarter id), ``target`` from :func:`helpers.targets.load_targets` (``baseline_value``
    for a derived baseline), from ``start`` or :func:`trend_start`."""
    if kpi not in KPIS:
        raise ProjectionError(f"unknown KPI {kpi!r}")
    entry = KPIS[kpi]
    start = parse(start) if start is not None else trend_start(kpi, series)
    projected = project(
        series,
        target.target_value(baseline_value),
        target.by,
        start=start,
        direction=target.direction,
        unit=entry.unit,
        kpi=kpi,
        what=SHORT_NAMES.get(kpi, entry.label),
        confidence=confidence,
    )
    if not projected.available:
        return projected
    from dataclasses import replace

    from helpers.targets import trajectory_series

    quarters = [Quarter.from_ordinal(o) for o in range(projected.latest.ordinal, projected.target_quarter.ordinal + 1)]
    path = trajectory_series(target, quarters, baseline_value)
    return replace(projected, trajectory=tuple(float(v) for v in path.to_numpy()))


def kpi_projections(
    data,
    quarter: str | Quarter,
    icb: str,
    targets: Mapping[str, Target],
    *,
    baseline_quarters=None,
    income_baseline_year: str | None = None,
    confidence: float = CONFIDENCE,
    histories: Mapping[str, pd.Series] | None = None,
) -> dict[str, Projection]:
    """:func:`project_kpi` of every headline KPI with a target whose tables ``data`` holds, in board
    order (KPI id -> projection). Series and derived baselines as :func:`helpers.scorecard.build_scorecard`
    computes them; values after ``quarter`` are left out. ``histories``: the series the scorecard
    already computed (its ``histories``), used instead of computing them again; a KPI absent
    from it is computed here."""
    from helpers import kpi_activity, kpi_commercial, kpi_common
    from helpers.kpis import REGISTRY

    quarter = parse(quarter)
    params = {
        "baseline_quarters": kpi_activity.DEFAULT_BASELINE_QUARTERS if baseline_quarters is None else baseline_quarters,
        "income_baseline_year": income_baseline_year or kpi_commercial.DEFAULT_INCOME_BASELINE_YEAR,
        "targets": dict(targets),
    }
    out: dict[str, Projection] = {}
    for entry in REGISTRY:
        target = targets.get(entry.id)
        if target is None:
            continue
        if histories is not None and entry.id in histories:
            series = histories[entry.id]
        else:
            try:
                series = entry.series(data, quarter, icb, **params)
            except kpi_common.MissingTableError:
                continue
        series = series[[parse(str(q)) <= quarter for q in series.index]]
        baseline_value = None
        if target.baseline.value is None:
            baseline_value = entry.baseline(data, quarter, icb, **params) if entry.baseline else None
            if baseline_value is None:
                continue  # no derived baseline, so no target figure
        out[entry.id] = project_kpi(entry.id, series, target, baseline_value=baseline_value, confidence=confidence)
    return out


# -- words and chart points -----------------------------------------------------------------------


def _signed(value: float, unit: str) -> str:
    """``+£296k``, ``-1.5 percentage points``, ``+2.3 per 10,000``, ``-12.5 days``, ``+0.4``."""
    sign = "-" if value < 0 else "+"
    size = abs(value)
    if unit == "GBP":
        return sign + format_money(size)
    if unit == "percent":
        return f"{sign}{format_number(size, 1)} percentage points"
    if unit == "per_10000":
        return f"{sign}{format_number(size, 1)} per 10,000"
    if unit == "days":
        return f"{sign}{format_number(size, 0 if float(round(size, 1)).is_integer() else 1)} days"
    return sign + format_number(size, 0 if float(round(size, 1)).is_integer() else 1)


def _interval(low: float, high: float, unit: str) -> str:
    """``£4.27m-£4.49m`` (one figure when both ends show the same; ``to`` when an end is negative)."""
    low_text, high_text = format_value(low, unit), format_value(high, unit)
    if low_text == high_text:
        return low_text
    if low < 0 or high < 0:
        return f"{low_text} to {high_text}"
    if unit == "percent":
        return f"{low_text.removesuffix('%')}-{high_text}"
    if unit == "per_10000":
        return f"{low_text.removesuffix(' per 10,000')}-{high_text}"
    return f"{low_text}-{high_text}"


def _shares(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    low_text, high_text = format_number(low, 0), format_number(high, 0)
    return f"{low_text}%" if low_text == high_text else f"{low_text}-{high_text}%"


def projection_sentence(projection: Projection) -> str:
    """The projection in words, e.g. ``On the trend since 2023/24 Q1 income reaches £4.27m-£4.49m
    by 2027/28 Q4, 75-79% of the £5.71m target; meeting it needs +£296k a quarter.``

    The range is the prediction interval (80% unless set otherwise); without a projection the
    sentence says why."""
    p = projection
    target_text = format_value(p.target, p.unit)
    if not p.available:
        return f"No projection of {p.what} to the {target_text} target by {p.target_quarter.label}: {p.reason}."
    shares = _shares(p.share_low, p.share_high)
    head = (
        f"On the trend since {p.start.label} {p.what} reaches {_interval(p.low, p.high, p.unit)} "
        f"by {p.target_quarter.label}, {shares + ' of ' if shares else ''}the {target_text} target"
    )
    if p.target_met:
        tail = f"the latest value, {format_value(p.latest_value, p.unit)} in {p.latest.label}, already meets it"
        if not p.on_course:
            tail += ", but the trend falls short of it"
    else:
        tail = f"meeting it needs {_signed(p.needed_per_quarter, p.unit)} a quarter"
        if p.on_course:
            tail += f" (the trend gives {_signed(p.slope_per_quarter, p.unit)} a quarter)"
    return f"{head}; {tail}."


def projection_points(projection: Projection) -> pd.DataFrame:
    """The projected line and interval for a chart: one row per quarter from the latest quarter to
    the target quarter, columns ``Quarter`` (id), ``Date`` (quarter start, as charts date
    quarters), ``Fit``, ``Low``, ``High`` and ``Trajectory`` (the plan's trajectory, NaN when not
    known). Empty (same columns) without a projection."""
    columns = ["Quarter", "Date", "Fit", "Low", "High", "Trajectory"]
    p = projection
    if not p.available or p.fit is None:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "Date" else "float64") for c in columns})[
            columns
        ].astype({"Quarter": "object"})
    rows = []
    for ordinal in range(p.latest.ordinal, p.target_quarter.ordinal + 1):
        q = Quarter.from_ordinal(ordinal)
        fit, half = p.fit.value_at(q), p.fit.half_width(q, p.confidence)
        on_plan = p.trajectory[ordinal - p.latest.ordinal] if p.trajectory else float("nan")
        rows.append(
            {
                "Quarter": q.id,
                "Date": pd.Timestamp(q.start),
                "Fit": fit,
                "Low": fit - half,
                "High": fit + half,
                "Trajectory": on_plan,
            }
        )
    return pd.DataFrame(rows, columns=columns)
