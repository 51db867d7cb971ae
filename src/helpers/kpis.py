"""The headline KPIs' definitions: what each one counts, over which period and scope, from which
tables, how it is charted (Making Data Count) and where its target comes from.

``helpers.scorecard`` computes the KPIs, their SPC frames and icons from this registry; the pack's
Definitions section prints it (:func:`definitions_table`). Adding a KPI: docs/adding_a_kpi.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from helpers import spc as spc_module
from helpers.narrative import format_value, plan_words
from helpers.quarters import parse


@dataclass(frozen=True)
class Rebase:
    """A known step change: SPC starts a new period (mean and limits) at this quarter."""

    quarter: str
    reason: str  # a few words, shown on the chart and in the Definitions table


COVID = Rebase("2020-21-Q1", "Covid-19 pause and restart")
PLAN = Rebase("2023-24-Q1", "the plan starts")
NCVR = Rebase("2022-23-Q3", "NCVR from 1 Oct 2022")

CHART_KINDS = {
    "xmr": "XmR, icons",
    "run": "run chart, no icons",
    "progress": "against trajectory, no icons",
}


@dataclass(frozen=True)
class Definition:
    """One headline KPI, in words, and how it is charted.

    ``chart``: ``xmr`` (an XmR chart, icons from the period after the last rebase), ``run`` (no
    process limits: a stock at quarter end, a rolling 12-month figure whose consecutive points share
    9 of their 12 months, a share of a changing list) or ``progress`` (a cumulative count or a rolling
    total against its trajectory: RAG, no icons)."""

    kpi: str
    period: str
    scope: str
    numerator: str
    denominator: str
    tables: tuple[str, ...]
    chart: str
    why: str
    rebase: tuple[Rebase, ...] = ()


PORTFOLIO = "NIHR portfolio studies"
QUARTERLY = "a value for each quarter"
ROLLING = "rolling 12 months: consecutive points share 9 of their 12 months, too alike for XmR limits"
STOCK = "a stock at the quarter's end: it accumulates, it is not a process that varies around a mean"
_STUDY_TABLES = ("organisations", "studies")
_RECRUITMENT_TABLES = ("organisations", "studies", "recruitment")

REGISTRY: tuple[Definition, ...] = (
    Definition(
        "studies_open_pct_precovid",
        "quarter: open to recruitment at any time in the quarter",
        PORTFOLIO,
        "studies open to recruitment at any time in the quarter",
        "the mean number open per quarter in the pre-Covid baseline year (2019/20)",
        _STUDY_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "new_studies",
        "quarter",
        PORTFOLIO,
        "studies whose actual opening date falls in the quarter",
        "none (a count)",
        _STUDY_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "recruiting_organisations",
        "quarter",
        "the ICB's organisations, any study",
        "organisations that recruited at least one participant in the quarter",
        "none (a count)",
        _RECRUITMENT_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "gp_practices_recruiting_pct",
        "rolling 12 months",
        "GP practices listed in the organisations table",
        "GP practices that recruited at least one participant in the 12 months",
        "GP practices listed",
        _RECRUITMENT_TABLES,
        "run",
        ROLLING,
    ),
    Definition(
        "participants",
        "quarter",
        "participants recruited at the ICB's organisations",
        "participants recruited in the quarter (date of consent)",
        "none (a count of people, rounded to 5)",
        _RECRUITMENT_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "participants_per_10k",
        "rolling 12 months",
        "participants recruited at the ICB's organisations",
        "participants recruited in the 12 months (rounded to 5 before dividing)",
        "the ICB's population (ONS), per 10,000",
        _RECRUITMENT_TABLES,
        "run",
        ROLLING,
    ),
    Definition(
        "core20_pct",
        "quarter",
        "participants whose home area's IMD decile is known",
        "participants living in the 20% most deprived areas of England (IMD 2019 deciles 1-2)",
        "participants with a known IMD decile",
        ("recruitment_imd",),
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "commercial_pct_open_studies",
        "quarter: open at any time in the quarter",
        PORTFOLIO,
        "commercial studies open",
        "all studies open",
        _STUDY_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "commercial_participants",
        "quarter",
        "participants recruited at the ICB's organisations",
        "participants recruited to commercial studies in the quarter",
        "none (a count of people, rounded to 5)",
        _RECRUITMENT_TABLES,
        "xmr",
        QUARTERLY,
        (COVID, PLAN),
    ),
    Definition(
        "commercial_income",
        "rolling 12 months",
        "the ICB's organisations",
        "commercial contract income received in the 12 months (GBP)",
        "none (money)",
        ("organisations", "finance"),
        "progress",
        "rolling 12-month income against the doubling trajectory",
    ),
    Definition(
        "setup_median_days",
        "quarter of the first participant",
        "commercial studies set up under NCVR",
        "median days from costing submitted to first participant",
        "none (days)",
        _STUDY_TABLES,
        "xmr",
        QUARTERLY,
        (NCVR,),
    ),
    Definition(
        "rtt_pct_on_track",
        "at the quarter's end",
        "open " + PORTFOLIO,
        "studies on track for recruitment to time and target (RTT >= 0)",
        "studies assessed",
        _RECRUITMENT_TABLES,
        "xmr",
        QUARTERLY,
        (PLAN,),
    ),
    Definition(
        "cross_system_studies",
        "cumulative from 2023/24 Q1",
        PORTFOLIO,
        "studies needing cross-system partnership (NHS and social care) opened since the plan began",
        "none (a count)",
        _STUDY_TABLES,
        "progress",
        "a cumulative count against its target",
    ),
    Definition(
        "joint_appointments",
        "at the quarter's end",
        "the ICB's organisations",
        "joint NHS/university clinical academic appointments in post",
        "none (a count of people, rounded to 5)",
        ("organisations", "workforce"),
        "run",
        STOCK,
    ),
    Definition(
        "research_active_staff",
        "at the quarter's end",
        "the ICB's organisations",
        "research-active staff",
        "none (a count of people, rounded to 5)",
        ("organisations", "workforce"),
        "run",
        STOCK,
    ),
    Definition(
        "innovations_adopted",
        "at the quarter's end",
        "the ICB's innovation pipeline",
        "innovations at the adopting or business-as-usual stage",
        "none (a count)",
        ("organisations", "innovations"),
        "run",
        STOCK,
    ),
    Definition(
        "ppie_activities",
        "quarter",
        "the ICS's public involvement programme",
        "public and patient involvement and engagement activities held",
        "none (a count)",
        ("engagement",),
        "xmr",
        QUARTERLY,
        (PLAN,),
    ),
    Definition(
        "bpor_registrations",
        "quarter",
        "residents of the ICB",
        "new Be Part of Research registrations",
        "none (a count of people, rounded to 5)",
        ("engagement",),
        "xmr",
        QUARTERLY,
        (PLAN,),
    ),
    Definition(
        "deliverables_on_track_pct",
        "at the quarter's end",
        "the plan's deliverables due so far or later",
        "deliverables complete or on track",
        "deliverables listed",
        ("deliverables",),
        "run",
        "a share of the plan's deliverables, a list that changes",
    ),
)
DEFINITIONS: Mapping[str, Definition] = {d.kpi: d for d in REGISTRY}


def kpi_spc(kpi: str, series: pd.Series, direction: str, target: float | None = None) -> pd.DataFrame | None:
    """The one SPC frame of a headline KPI, for its chart and its scorecard icons alike.

    ``series``: values indexed by quarter id. None unless the KPI is charted as ``xmr`` and has a
    value; rebased at each of its rebase quarters that falls inside the series.
    """
    definition = DEFINITIONS[kpi]
    values = series.astype("float64")
    if definition.chart != "xmr" or values.notna().sum() == 0:
        return None
    dates = [parse(q).start for q in values.index]
    starts = [parse(r.quarter).start for r in definition.rebase]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spc_module.TrialLimitsWarning)  # reported as trial limits instead
        return spc_module.spc(
            values.to_numpy(),
            dates,
            improvement_direction=direction,
            target=target,
            rebase=[d for d in starts if min(dates) < d <= max(dates)],
        )


def definitions_table(labels: Mapping[str, tuple[str, str]], targets: Mapping | None = None) -> pd.DataFrame:
    """The Definitions section's table: one row per headline KPI, in board order.

    ``labels``: KPI id -> (section, label), in board order (from :func:`helpers.scorecard.headlines`).
    ``targets``: KPI id -> :class:`helpers.targets.Target`. Columns: Section, KPI, Period, Scope,
    Numerator, Denominator, Tables, Chart, Rebased, Target, TargetSource."""
    targets = targets or {}
    rows = []
    for kpi, (section, label) in labels.items():
        d = DEFINITIONS[kpi]
        target = targets.get(kpi)
        rows.append(
            {
                "Section": section,
                "KPI": label,
                "Period": d.period,
                "Scope": d.scope,
                "Numerator": d.numerator,
                "Denominator": d.denominator,
                "Tables": ", ".join(d.tables),
                "Chart": CHART_KINDS[d.chart],
                "Rebased": "; ".join(f"{parse(r.quarter).label} ({r.reason})" for r in d.rebase) or "-",
                "Target": _target_words(target) if target else "no target in the plan",
                "TargetSource": plan_words(" ".join(target.source.split())) if target else "-",
            }
        )
    return pd.DataFrame(rows)


def _target_words(target) -> str:
    figure = (
        f"{target.target.times_baseline:g} times the {target.baseline.quarter.label} baseline"
        if hasattr(target.target, "times_baseline")
        else format_value(target.target, target.unit)
    )
    start = (
        ""
        if target.baseline.value is None
        else f"; the plan's starting point {format_value(target.baseline.value, target.unit)}"
    )
    return f"{figure} by {target.by.label} ({target.trajectory} trajectory from {target.baseline.quarter.label}{start})"
