"""Funnel plot limits for proportions, as the NHS-R Community's FunnelPlotR computes them for
``data_type = "PR"`` (Spiegelhalter 2005; formulas and sources in docs/benchmarking.md).

Steps (FunnelPlotR ``transformed_zscore``, ``winsorisation``, ``phi_func``, ``tau_func``,
``calculate_limits``):

- target ``p0 = sum(O) / sum(n)``; transformed ``Y = asin(sqrt(O / n))``, ``theta = asin(sqrt(p0))``,
  ``s = 1 / (2 sqrt(n))``; z-score ``z = (Y - theta) / s``.
- z-scores winsorised at their 10th and 90th percentiles (R ``quantile`` type 7, numpy's default
  "linear"); dispersion ratio ``phi = mean(z_w^2)``.
- ``tau2 = 0`` when ``N * phi < N - 1`` (N units), else
  ``max(0, (N * phi - (N - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w = 1 / s^2``.
- limits at denominator n: ``multiplier * sin(theta +/- z_a * sqrt(1 / (4 n) + tau2))^2``,
  ``z_a`` = 1.959964 (95%) and 3.090232 (99.8%), FunnelPlotR's constants. The overdispersed
  (``tau2``) limits are used when ``phi > 1``; otherwise the unadjusted ones (``tau2`` taken as 0).
- a unit is an outlier when its value is strictly beyond a limit (on the limit is within).

Choices where FunnelPlotR differs or is silent (docs/benchmarking.md):

- A limit whose angle ``theta -/+ z_a sd`` leaves ``[0, pi/2]`` is clamped to 0 (lower) or to the
  multiplier (upper). FunnelPlotR gets the same by comparing each point of its plotting grid with
  the next one; clamping the angle gives the same value at any denominator, without a grid.
- Rows are not summed per unit (FunnelPlotR aggregates by group): a repeated unit is an error, as
  are missing values, denominators <= 0, negative numerators and numerators above denominators.
- ``adjust=False`` draws unadjusted limits but still reports ``phi`` and ``tau2`` (FunnelPlotR
  reports 0 for both).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959964  # FunnelPlotR's two-sided 95% normal quantile (qnorm(0.975) = 1.959963985)
Z998 = 3.090232  # FunnelPlotR's two-sided 99.8% normal quantile (qnorm(0.999) = 3.090232306)
TRIM_BY = 0.1  # winsorise 10% at each end
CURVE_START = 3  # FunnelPlotR's PR plotting grid starts at a denominator of 3
CURVE_POINTS = 1000  # ... and has 1000 points

LIMIT_COLUMNS = ("Lower95", "Upper95", "Lower998", "Upper998")
POSITIONS = (
    "above the 99.8% limits",
    "above the 95% limits",
    "within the 95% limits",
    "below the 95% limits",
    "below the 99.8% limits",
)


def _names(labels: Iterable[object]) -> str:
    labels = [str(label) for label in labels]
    shown = ", ".join(labels[:10])
    return shown + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")


def checked_counts(
    frame: pd.DataFrame,
    *,
    unit: str = "IcbCode",
    numerator: str = "Numerator",
    denominator: str = "Denominator",
    proportion: bool = True,
) -> pd.DataFrame:
    """``frame``'s unit, numerator and denominator as columns ``unit``, ``Numerator`` and
    ``Denominator`` (float), in the frame's order, after checks that name the offending units.

    Errors (ValueError): a missing column; no rows; a repeated or missing unit; a missing or
    non-numeric count; a denominator <= 0; a negative numerator; with ``proportion``, a numerator
    above its denominator.
    """
    missing = [column for column in (unit, numerator, denominator) if column not in frame.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; the columns are {', '.join(map(str, frame.columns))}"
        )
    if frame.empty:
        raise ValueError("no rows: need at least one unit with a numerator and a denominator")
    units = frame[unit]
    if units.isna().any():
        raise ValueError(f"{int(units.isna().sum())} row(s) have no {unit}")
    units = units.astype(str).str.strip()
    repeated = units[units.duplicated()].unique()
    if len(repeated):
        raise ValueError(f"{unit} repeated: {_names(repeated)}; give one row per unit")
    out = pd.DataFrame({unit: units.to_numpy()})
    for column, name in ((numerator, "Numerator"), (denominator, "Denominator")):
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64").to_numpy()
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"{column} missing or not a finite number for {unit} {_names(out[unit][bad])}")
        out[name] = values
    if (out["Denominator"] <= 0).any():
        bad = out["Denominator"] <= 0
        raise ValueError(f"{denominator} must be > 0; it is zero or negative for {unit} {_names(out[unit][bad])}")
    if (out["Numerator"] < 0).any():
        bad = out["Numerator"] < 0
        raise ValueError(f"{numerator} must be >= 0; it is negative for {unit} {_names(out[unit][bad])}")
    if proportion and (out["Numerator"] > out["Denominator"]).any():
        bad = out["Numerator"] > out["Denominator"]
        raise ValueError(
            f"{numerator} is above {denominator} for {unit} {_names(out[unit][bad])}: "
            "a proportion's numerator must be part of its denominator"
        )
    return out


# -- the steps, one per FunnelPlotR function --------------------------------------------------


def z_scores(numerators: np.ndarray, denominators: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(z, s, theta)``: FunnelPlotR ``transformed_zscore`` for PR (arcsine square-root scale)."""
    numerators = np.asarray(numerators, dtype=float)
    denominators = np.asarray(denominators, dtype=float)
    theta = math.asin(math.sqrt(numerators.sum() / denominators.sum()))
    y = np.arcsin(np.sqrt(numerators / denominators))
    s = 1 / (2 * np.sqrt(denominators))
    return (y - theta) / s, s, theta


def winsorise(z: np.ndarray, trim_by: float = TRIM_BY) -> np.ndarray:
    """FunnelPlotR ``winsorisation``: values below the ``trim_by`` quantile (R type 7) set to it,
    values above the ``1 - trim_by`` quantile set to that."""
    z = np.asarray(z, dtype=float)
    low, high = np.quantile(z, [trim_by, 1 - trim_by])  # numpy "linear" = R type 7
    return np.clip(z, low, high)


def dispersion_ratio(z_winsorised: np.ndarray) -> float:
    """FunnelPlotR ``phi_func``: ``phi = mean(z_w^2)``."""
    z_winsorised = np.asarray(z_winsorised, dtype=float)
    return float(np.mean(z_winsorised**2))


def tau_squared(phi: float, s: np.ndarray) -> float:
    """FunnelPlotR ``tau_func``: the between-unit variance of the additive random-effects model
    (DerSimonian & Laird style), from ``phi`` and the units' standard errors ``s``."""
    s = np.asarray(s, dtype=float)
    n = len(s)
    if n == 0 or n * phi < n - 1:
        return 0.0
    w = 1 / s**2
    return float(max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum())))


def funnel_limits(
    target: float, denominators: Iterable[float] | np.ndarray, *, tau2: float = 0.0, multiplier: float = 1
) -> pd.DataFrame:
    """The 95% and 99.8% limits at each denominator, in the unit of ``multiplier``.

    ``target`` is the overall proportion (``sum(O) / sum(n)``, not multiplied); ``tau2 = 0`` gives
    the unadjusted limits. Columns ``Denominator``, ``Lower95``, ``Upper95``, ``Lower998``,
    ``Upper998``. Each limit is ``multiplier * sin(a)^2`` with the angle
    ``a = asin(sqrt(target)) -/+ z * sqrt(1 / (4 n) + tau2)`` clamped to ``[0, pi/2]``.
    """
    if not 0 <= target <= 1:
        raise ValueError(f"target must be a proportion in [0, 1], got {target}")
    if tau2 < 0:
        raise ValueError(f"tau2 must be >= 0, got {tau2}")
    n = np.asarray(list(denominators) if not isinstance(denominators, np.ndarray) else denominators, dtype=float)
    if (~np.isfinite(n) | (n <= 0)).any():
        raise ValueError("denominators must be finite and > 0")
    theta = math.asin(math.sqrt(target))
    sd = np.sqrt(1 / (4 * n) + tau2)
    out = pd.DataFrame({"Denominator": n})
    for name, z in (("95", Z95), ("998", Z998)):
        for side, sign in (("Lower", -1), ("Upper", 1)):
            angle = np.clip(theta + sign * z * sd, 0, math.pi / 2)
            out[f"{side}{name}"] = multiplier * np.sin(angle) ** 2
    return out


@dataclass(frozen=True)
class FunnelResult:
    """A funnel plot's figures.

    ``units``: one row per unit in the input order, columns ``<unit>``, ``Numerator``,
    ``Denominator``, ``Value`` (``Numerator / Denominator * multiplier``), ``Z`` (unadjusted
    z-score), ``ZWinsorised``, ``ZAdjusted`` (``(Y - theta) / sqrt(s^2 + tau2)`` when
    ``overdispersed``, else ``Z``), the limits in use at the unit's denominator (``Lower95``,
    ``Upper95``, ``Lower998``, ``Upper998``), flags ``High998``, ``Low998``, ``High95``, ``Low95``
    (strictly beyond the limit) and ``Position`` (one of :data:`POSITIONS`).
    ``target``: ``sum(O) / sum(n)`` (a proportion); ``target_value`` is it times the multiplier.
    ``overdispersed``: the limits include ``tau2`` (``phi > 1`` and ``adjust``).
    """

    units: pd.DataFrame
    target: float
    multiplier: float
    phi: float
    tau2: float
    overdispersed: bool
    trim_by: float = TRIM_BY
    unit: str = "IcbCode"

    @property
    def target_value(self) -> float:
        return self.target * self.multiplier

    @property
    def tau2_in_use(self) -> float:
        """The ``tau2`` the limits use: ``tau2`` when overdispersed, else 0."""
        return self.tau2 if self.overdispersed else 0.0

    def limits(self, denominators: Iterable[float] | np.ndarray) -> pd.DataFrame:
        """The limits in use at the given denominators (see :func:`funnel_limits`)."""
        return funnel_limits(self.target, denominators, tau2=self.tau2_in_use, multiplier=self.multiplier)

    def unit_row(self, code: str) -> pd.Series:
        """The row of one unit (ValueError naming it when absent)."""
        rows = self.units[self.units[self.unit] == str(code).strip()]
        if rows.empty:
            raise ValueError(f"{self.unit} {code!r} is not among the funnel's {len(self.units)} units")
        return rows.iloc[0]


def funnel(
    frame: pd.DataFrame,
    numerator: str = "Numerator",
    denominator: str = "Denominator",
    *,
    unit: str = "IcbCode",
    multiplier: float = 1,
    trim_by: float = TRIM_BY,
    adjust: bool = True,
) -> FunnelResult:
    """FunnelPlotR's ``funnel_plot(data_type = "PR", multiplier = ...)`` figures, without the plot.

    ``frame`` has one row per unit (``unit`` column) with a numerator and a denominator; at least
    two units. ``multiplier`` scales values and limits (10000 for rates per 10,000); z-scores,
    ``phi`` and ``tau2`` do not depend on it. ``adjust=False`` always uses unadjusted limits.
    """
    if not (math.isfinite(multiplier) and multiplier > 0):
        raise ValueError(f"multiplier must be a positive number, got {multiplier}")
    if not 0 <= trim_by < 0.5:
        raise ValueError(f"trim_by must be in [0, 0.5), got {trim_by}")
    counts = checked_counts(frame, unit=unit, numerator=numerator, denominator=denominator, proportion=True)
    if len(counts) < 2:
        raise ValueError(f"a funnel plot needs at least 2 units; got {len(counts)} ({_names(counts[unit])})")
    num = counts["Numerator"].to_numpy()
    den = counts["Denominator"].to_numpy()
    target = float(num.sum() / den.sum())
    z, s, theta = z_scores(num, den)
    z_w = winsorise(z, trim_by)
    phi = dispersion_ratio(z_w)
    tau2 = tau_squared(phi, s)
    overdispersed = bool(adjust and phi > 1)
    tau2_in_use = tau2 if overdispersed else 0.0

    units = counts.copy()
    units["Value"] = num / den * multiplier
    units["Z"] = z
    units["ZWinsorised"] = z_w
    units["ZAdjusted"] = (np.arcsin(np.sqrt(num / den)) - theta) / np.sqrt(s**2 + tau2_in_use)
    limits = funnel_limits(target, den, tau2=tau2_in_use, multiplier=multiplier)
    for column in LIMIT_COLUMNS:
        units[column] = limits[column].to_numpy()
    value = units["Value"]
    units["High998"] = value > units["Upper998"]
    units["Low998"] = value < units["Lower998"]
    units["High95"] = value > units["Upper95"]
    units["Low95"] = value < units["Lower95"]
    units["Position"] = np.select(
        [units["High998"], units["High95"], units["Low998"], units["Low95"]],
        [POSITIONS[0], POSITIONS[1], POSITIONS[4], POSITIONS[3]],
        default=POSITIONS[2],
    )
    return FunnelResult(
        units=units,
        target=target,
        multiplier=float(multiplier),
        phi=phi,
        tau2=tau2,
        overdispersed=overdispersed,
        trim_by=trim_by,
        unit=unit,
    )


def funnel_curves(
    result: FunnelResult,
    *,
    min_denominator: float | None = None,
    max_denominator: float | None = None,
    points: int = CURVE_POINTS,
    include_units: bool = True,
) -> pd.DataFrame:
    """Smooth limit curves for drawing: the limits in use (and the unadjusted ones) on ``points``
    evenly spaced denominators from ``min_denominator`` (default 3, as FunnelPlotR) to
    ``max_denominator`` (default the largest unit denominator, rounded up), plus each unit's own
    denominator (``include_units``), sorted.

    Columns ``Denominator``, ``Lower95``, ``Upper95``, ``Lower998``, ``Upper998`` (in use) and
    ``Unadjusted`` + each of those names (``tau2 = 0``; equal to the first set when not
    overdispersed), in the unit of the multiplier.
    """
    units_den = result.units["Denominator"].to_numpy(dtype=float)
    low = CURVE_START if min_denominator is None else float(min_denominator)
    high = math.ceil(units_den.max()) if max_denominator is None else float(max_denominator)
    if not (0 < low < high):
        raise ValueError(f"need 0 < min_denominator < max_denominator, got {low} and {high}")
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    grid = np.linspace(low, high, points)
    if include_units:
        grid = np.unique(np.concatenate([grid, units_den]))
    out = result.limits(grid)
    unadjusted = funnel_limits(result.target, grid, tau2=0.0, multiplier=result.multiplier)
    for column in LIMIT_COLUMNS:
        out[f"Unadjusted{column}"] = unadjusted[column].to_numpy()
    return out
