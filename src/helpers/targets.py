"""The plan's KPI targets (``params/targets.yml``), their trajectories and RAG ratings.

A target runs from a baseline (a quarter and a value, given in the file or derived from the data)
to a target value due by a quarter, along a ``linear`` or ``step`` trajectory. :func:`rag` compares
the latest value with the trajectory *at that quarter*, so a KPI can be on track long before the
end target is due.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Tag,
    ValidationError,
    model_validator,
)

from helpers.paths import PARAMS_DIR
from helpers.quarters import Quarter, parse

TARGETS_FILE = PARAMS_DIR / "targets.yml"

Rag = Literal["green", "amber", "red"]
RAG_LABELS: dict[str, str] = {"green": "On track", "amber": "Slightly behind", "red": "Off track"}

# Boundary comparisons allow for float noise (0.05 * 100 is 5.000000000000001), so a value exactly
# at the amber tolerance is amber and exactly on the trajectory is green.
_REL_EPS = 1e-9

QuarterField = Annotated[Quarter, PlainValidator(parse), PlainSerializer(lambda q: q.label, return_type=str)]


class TargetsError(ValueError):
    """A targets file that cannot be used, or a target asked something it cannot answer."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Baseline(_Strict):
    """Where the trajectory starts: a quarter and either a ``value`` or a ``derived`` description."""

    quarter: QuarterField
    value: float | None = None
    derived: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> Baseline:
        if (self.value is None) == (self.derived is None):
            raise ValueError("give exactly one of 'value' (a figure) or 'derived' (how the data gives it)")
        return self


class TimesBaseline(_Strict):
    """A target set as a multiple of the baseline (e.g. double: ``times_baseline: 2``)."""

    times_baseline: float = Field(gt=0)


# A target is a figure or a mapping {times_baseline: x}; choosing the form by the input's shape
# gives one error message instead of one per form.
_NUMBER_FORM, _MULTIPLE_FORM = "number form", "multiple form"
TargetFigure = Annotated[
    Annotated[float, Tag(_NUMBER_FORM)] | Annotated[TimesBaseline, Tag(_MULTIPLE_FORM)],
    Discriminator(lambda v: _MULTIPLE_FORM if isinstance(v, (dict, TimesBaseline)) else _NUMBER_FORM),
]


class Target(_Strict):
    """One KPI's target, as written in ``params/targets.yml``."""

    kpi: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    unit: Literal["percent", "GBP", "count", "per_10000"]
    direction: Literal["increase", "decrease"]
    baseline: Baseline
    target: TargetFigure
    by: QuarterField
    trajectory: Literal["linear", "step"]
    amber_tolerance: float = Field(ge=0, lt=1)
    source: str = Field(min_length=1)
    # Where the target comes from: the plan (source holds its words), or a working assumption that
    # someone set where the plan gives no figure (set_by names who; source says what was assumed).
    basis: Literal["plan", "working assumption"] = "plan"
    set_by: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.by <= self.baseline.quarter:
            raise ValueError(f"'by' ({self.by}) must be after the baseline quarter ({self.baseline.quarter})")
        if self.basis == "working assumption" and not self.set_by.strip():
            raise ValueError("a working assumption names who set it: give 'set_by'")
        if isinstance(self.target, TimesBaseline) and self.baseline.derived is None:
            raise ValueError(
                "target 'times_baseline' needs a derived baseline; with a baseline value, give the target figure"
            )
        return self

    # -- values ---------------------------------------------------------------------------------
    def baseline_at(self, baseline_value: float | None = None) -> float:
        """The baseline figure: the file's value, or ``baseline_value`` when the file says derived."""
        if self.baseline.value is not None:
            if baseline_value is not None:
                raise TargetsError(
                    f"{self.kpi}: the baseline is fixed in the targets file ({self.baseline.value:g}); "
                    "do not pass baseline_value"
                )
            return self.baseline.value
        if baseline_value is None or not math.isfinite(float(baseline_value)):
            raise TargetsError(
                f"{self.kpi}: the baseline is derived from the data ({self.baseline.derived}); "
                f"pass it as baseline_value (got {baseline_value!r})"
            )
        return float(baseline_value)

    def target_value(self, baseline_value: float | None = None) -> float:
        """The end target figure."""
        if isinstance(self.target, TimesBaseline):
            return self.target.times_baseline * self.baseline_at(baseline_value)
        return self.target

    def value_at(self, quarter: str | Quarter, baseline_value: float | None = None) -> float:
        """The trajectory's value at ``quarter`` (from the baseline quarter on; flat after ``by``)."""
        quarter = parse(quarter)
        start, due = self.baseline.quarter, self.by
        if quarter < start:
            raise TargetsError(
                f"{self.kpi}: {quarter} is before the baseline quarter {start}; the trajectory starts there"
            )
        base, goal = self.baseline_at(baseline_value), self.target_value(baseline_value)
        if quarter >= due:
            return goal
        if self.trajectory == "step":
            return base
        progress = (quarter.ordinal - start.ordinal) / (due.ordinal - start.ordinal)
        return base + (goal - base) * progress


def trajectory_series(
    target: Target, quarters: Iterable[str | Quarter], baseline_value: float | None = None
) -> pd.Series:
    """The trajectory at each quarter (index: quarter ids), NaN before the baseline quarter (for charts)."""
    quarters = [parse(q) for q in quarters]
    values = [float("nan") if q < target.baseline.quarter else target.value_at(q, baseline_value) for q in quarters]
    return pd.Series(values, index=pd.Index([q.id for q in quarters], name="Quarter"), name=target.kpi, dtype="float64")


class PlanBaseline(NamedTuple):
    """The plan's own starting point for a KPI, to draw on its chart."""

    date: pd.Timestamp  # the baseline quarter's first day (charts date each quarter at its start)
    value: float
    label: str  # e.g. "Plan's starting point 210 (2022/23 Q2)"


def rag(value: float, target: Target, quarter: str | Quarter, baseline_value: float | None = None) -> Rag:
    """Red/amber/green for the latest ``value`` at ``quarter`` against the trajectory at that quarter.

    Green: on or better than the trajectory. Amber: worse, but by no more than ``amber_tolerance``
    times the trajectory value. Red: worse than that. ``direction`` says which way is better.
    """
    if value is None or not math.isfinite(float(value)):
        raise TargetsError(f"{target.kpi}: no value to rate at {parse(quarter)} (got {value!r})")
    expected = target.value_at(quarter, baseline_value)
    shortfall = expected - float(value) if target.direction == "increase" else float(value) - expected
    slack = _REL_EPS * max(1.0, abs(expected))
    if shortfall <= slack:
        return "green"
    if shortfall <= target.amber_tolerance * abs(expected) + slack:
        return "amber"
    return "red"


def rag_label(rating: str) -> str:
    """Words for a RAG rating: 'On track', 'Slightly behind', 'Off track'."""
    try:
        return RAG_LABELS[rating]
    except KeyError:
        raise TargetsError(f"unknown RAG rating {rating!r}; expected one of {list(RAG_LABELS)}") from None


class _TargetsFile(_Strict):
    targets: list[Target] = Field(min_length=1)


def _field_path(loc: tuple, raw: object) -> str:
    """``targets[1] (commercial_income).baseline.quarter`` from a pydantic error location."""
    parts: list[str] = []
    for i, key in enumerate(loc):
        if isinstance(key, int) and i and loc[i - 1] == "targets":
            kpi = None
            if isinstance(raw, dict) and isinstance(raw.get("targets"), list) and key < len(raw["targets"]):
                entry = raw["targets"][key]
                kpi = entry.get("kpi") if isinstance(entry, dict) else None
            parts[-1] += f"[{key}]" + (f" ({kpi})" if kpi else "")
        elif key in (_NUMBER_FORM, _MULTIPLE_FORM) or (isinstance(key, str) and key.startswith("function-")):
            continue  # union branch names and validator wrappers mean nothing to the reader
        else:
            parts.append(str(key))
    return ".".join(parts) or "(top level)"


def load_targets(path: str | Path = TARGETS_FILE) -> dict[str, Target]:
    """Read and check a targets file; KPI id -> :class:`Target`."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetsError(f"{path}: targets file not found") from None
    except yaml.YAMLError as error:
        raise TargetsError(f"{path}: not valid YAML: {error}") from None
    try:
        parsed = _TargetsFile.model_validate(raw)
    except ValidationError as error:
        problems = [f"  {_field_path(e['loc'], raw)}: {e['msg']}" for e in error.errors()]
        raise TargetsError(f"{path}: {len(problems)} problem(s):\n" + "\n".join(problems)) from None
    targets: dict[str, Target] = {}
    for position, target in enumerate(parsed.targets):
        if target.kpi in targets:
            raise TargetsError(f"{path}: targets[{position}].kpi: {target.kpi!r} appears more than once")
        targets[target.kpi] = target
    return targets
