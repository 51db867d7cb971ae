"""The board scorecard: every headline KPI with its latest value, changes, target, RAG and SPC icons.

Each headline KPI is a quarterly series from the KPI modules. For counts of people the value and
the changes shown are the disclosed (rounded or suppressed) figures; SPC runs on the exact series,
and only its icon names are published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_common as kc,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
    kpis,
    spc as spc_module,
    targets as targets_module,
)
from helpers.disclosure import SUPPRESSED, disclose_count
from helpers.quarters import Quarter, parse

COLUMNS = [
    "Section",
    "Kpi",
    "Label",
    "Unit",
    "Direction",
    "Quarter",
    "Value",
    "PreviousQuarterValue",
    "ChangeOnPreviousQuarter",
    "SameQuarterLastYearValue",
    "ChangeOnSameQuarterLastYear",
    "Target",
    "Rag",
    "Variation",
    "Assurance",
    "Points",
    "TrialLimits",
    "Disclosed",
    "Chart",
    "SpcFrom",
]


@dataclass(frozen=True)
class Headline:
    """One scorecard row: how to get its quarterly series (index: quarter ids, raw values)."""

    section: str
    kpi: str
    label: str
    unit: str  # percent, count, GBP, per_10000, days
    direction: str  # increase, decrease, neutral (which way is better, for SPC)
    series: Callable[..., pd.Series]
    people: bool = False  # a count of people: value and changes are disclosed
    baseline: Callable[..., float | None] | None = None  # derived target baseline (targets.yml 'derived')


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(frame[column].astype("float64").to_numpy(), index=frame["Quarter"].astype(str).to_numpy())


def _innovations_adopted(data, quarter, icb, **_) -> pd.Series:
    history = kpi_innovation.pipeline_history(data, quarter, icb)
    adopted = history[history["Stage"].isin(["adopting", "business_as_usual"])]
    return adopted.groupby("Quarter", sort=False)["Innovations"].sum().astype("float64")


def _deliverables_on_track(data, quarter, icb, **_) -> pd.Series:
    history = kpi_deliverables.deliverables_history(data, quarter, icb)
    good = history[history["Rag"].isin(["on_track", "complete"])]
    return pd.Series(
        good.groupby("Quarter", sort=False)["Pct"].sum().to_numpy(), index=good["Quarter"].unique().astype(str)
    )


def _commercial_share(data, quarter, icb, **_) -> pd.Series:
    frame = kpi_commercial.commercial_share_of_open_studies(data, quarter, icb)
    series = _column(frame, "CommercialPct")
    series.attrs["label"] = kpi_commercial.commercial_share_label(frame)
    return series


def _cross_system(data, quarter, icb, **_) -> pd.Series:
    series = _column(kpi_partnerships.cross_system_studies(data, quarter, icb), "CumulativeCrossSystemStudies")
    start = kpi_partnerships.cross_system_rule()[0]
    series.attrs["label"] = f"Cross-system portfolio studies opened since {start.label}, cumulative"
    return series


def _income_baseline(data, quarter, icb, income_baseline_year: str, **_) -> float | None:
    frame = kpi_commercial.commercial_income(data, quarter, icb, baseline_year=income_baseline_year)
    value = frame["BaselineGBP"].iloc[-1]
    return None if pd.isna(value) else float(value)


def _engagement(measure: str):
    return lambda data, quarter, icb, **_: _column(
        kpi_engagement.engagement(data, quarter, icb, disclosed=False), measure
    )


def headlines() -> list[Headline]:
    """The scorecard's KPIs, in board order."""
    a, p, c, w = kpi_activity, kpi_participation, kpi_commercial, kpi_partnerships
    return [
        Headline(
            "Research activity",
            "studies_open_pct_precovid",
            "NIHR studies open at any time in the quarter, % of pre-Covid levels",
            "percent",
            "increase",
            lambda d, q, i, baseline_quarters, **_: _column(
                a.open_studies(d, q, i, baseline_quarters=baseline_quarters), "PctOfBaseline"
            ),
        ),
        Headline(
            "Research activity",
            "new_studies",
            "NIHR studies opened in the quarter",
            "count",
            "increase",
            lambda d, q, i, **_: _column(a.new_studies(d, q, i), "NewStudies"),
        ),
        Headline(
            "Research activity",
            "recruiting_organisations",
            "Organisations recruiting in the quarter",
            "count",
            "increase",
            lambda d, q, i, **_: _column(a.recruiting_organisations(d, q, i), "RecruitingOrganisations"),
        ),
        Headline(
            "Research activity",
            "gp_practices_recruiting_pct",
            "GP practices recruiting, % (rolling 12 months)",
            "percent",
            "increase",
            lambda d, q, i, **_: _column(a.gp_practices_recruiting(d, q, i), "PctRecruiting"),
        ),
        Headline(
            "Participation",
            "participants",
            "NIHR portfolio participants recruited in the quarter",
            "count",
            "increase",
            lambda d, q, i, **_: _column(p.participants(d, q, i, disclosed=False), "Participants"),
            people=True,
        ),
        Headline(
            "Participation",
            "participants_per_10k",
            "NIHR portfolio participants per 10,000 population, rolling 12 months",
            "per_10000",
            "increase",
            lambda d, q, i, **_: _column(p.participants_per_10k(d, q, i), "Per10000"),
        ),
        Headline(
            "Participation",
            "core20_pct",
            "Participants from Core20 areas, % of known, rolling 12 months",
            "percent",
            "increase",
            lambda d, q, i, **_: _column(p.core20_history(d, q, i), "Core20Pct"),
        ),
        Headline(
            "Commercial",
            "commercial_pct_open_studies",
            "Commercial studies, % of all open studies",
            "percent",
            "increase",
            _commercial_share,
        ),
        Headline(
            "Commercial",
            "commercial_participants",
            "Participants in commercial studies in the quarter",
            "count",
            "increase",
            lambda d, q, i, **_: _column(c.commercial_participants(d, q, i, disclosed=False), "CommercialParticipants"),
            people=True,
        ),
        Headline(
            "Commercial",
            "commercial_income",
            "Commercial contract income, rolling 12 months",
            "GBP",
            "increase",
            lambda d, q, i, income_baseline_year, **_: _column(
                c.commercial_income(d, q, i, baseline_year=income_baseline_year), "Rolling12MonthsGBP"
            ),
            baseline=_income_baseline,
        ),
        Headline(
            "Commercial",
            "setup_median_days",
            "NCVR set-up time, median days in the quarter (studies costed from 1 October 2022)",
            "days",
            "decrease",
            lambda d, q, i, **_: _column(c.setup_time_summary(d, q, i), "MedianDays"),
        ),
        Headline(
            "Commercial",
            "rtt_pct_on_track",
            "Studies open at the quarter's end on track for recruitment to time and target, %",
            "percent",
            "increase",
            lambda d, q, i, **_: _rtt_all(c.rtt_summary(d, q, i)),
        ),
        Headline(
            "Partnerships and workforce",
            "cross_system_studies",
            "Cross-system portfolio studies opened since the plan's start, cumulative",
            "count",
            "increase",
            _cross_system,
        ),
        Headline(
            "Partnerships and workforce",
            "joint_appointments",
            "Joint NHS/university appointments",
            "count",
            "increase",
            lambda d, q, i, **_: _column(w.joint_appointments(d, q, i, disclosed=False), "JointAppointments"),
            people=True,
        ),
        Headline(
            "Partnerships and workforce",
            "research_active_staff",
            "Research-active staff",
            "count",
            "increase",
            lambda d, q, i, **_: _column(w.research_active_staff(d, q, i, disclosed=False), "ResearchActiveStaff"),
            people=True,
        ),
        Headline(
            "Innovation",
            "innovations_adopted",
            "Innovations adopting or business as usual",
            "count",
            "increase",
            _innovations_adopted,
        ),
        Headline(
            "Engagement",
            "ppie_activities",
            "PPIE activities in the quarter",
            "count",
            "increase",
            _engagement("ppie_activities"),
        ),
        Headline(
            "Engagement",
            "bpor_registrations",
            "Be Part of Research registrations in the quarter",
            "count",
            "increase",
            _engagement("bpor_registrations"),
            people=True,
        ),
        Headline(
            "Deliverables",
            "deliverables_on_track_pct",
            "Deliverables complete or on track, %",
            "percent",
            "increase",
            _deliverables_on_track,
        ),
    ]


def _rtt_all(summary: pd.DataFrame) -> pd.Series:
    rows = summary[summary["StudyRoute"] == "All"]
    return pd.Series(rows["PctOnTrack"].to_numpy(dtype="float64"), index=rows["Quarter"].astype(str).to_numpy())


def _shown(value: float, people: bool):
    """The value as published: a disclosed count for people, else the number (NaN when missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    return disclose_count(int(value)) if people else float(value)


def _change(latest, earlier):
    """Difference of two published values; suppressed or missing gives ``*`` / NaN."""
    if isinstance(latest, str) or isinstance(earlier, str):
        return SUPPRESSED
    if pd.isna(latest) or pd.isna(earlier):
        return np.nan
    return float(latest) - float(earlier)


def _spc_icons(frame: pd.DataFrame | None, direction: str):
    """Variation and assurance icon names, the trial-limit flag and the current SPC period's first
    quarter of a KPI's SPC frame (None, None, False, None for a KPI not charted as XmR)."""
    if frame is None:
        return None, None, False, None
    current = frame[frame["group"] == frame["group"].iloc[-1]]
    start = Quarter.of_date(current["date"].iloc[0].date()).id
    trial = bool(current["trial_limits"].iloc[-1])
    target = frame["target"].iloc[-1]
    target = None if pd.isna(target) else float(target)
    return spc_module.variation(frame), spc_module.assurance(frame, target, direction), trial, start


def build_scorecard(
    data,
    quarter,
    icb: str,
    targets: dict | None,
    baseline_quarters=kpi_activity.DEFAULT_BASELINE_QUARTERS,
    income_baseline_year: str = kpi_commercial.DEFAULT_INCOME_BASELINE_YEAR,
    spc_frames: dict | None = None,
) -> pd.DataFrame:
    """One row per headline KPI for the quarter (columns :data:`COLUMNS`).

    ``targets``: KPI id -> :class:`helpers.targets.Target` (from :func:`helpers.targets.load_targets`),
    or None for no targets. Target is the trajectory at the quarter (NaN before the target's
    baseline quarter or when the KPI has none); Rag is green/amber/red against it (None without a
    target). Variation and Assurance are :mod:`helpers.spc` icon names from :func:`helpers.kpis.kpi_spc` (its
    current period, from SpcFrom; Assurance needs a target), None for KPIs charted as ``run`` or
    ``progress`` (column Chart). A KPI whose tables were not loaded is left out. ``spc_frames``, when
    given, receives each XmR KPI's SPC frame (KPI id -> frame), for its chart.
    """
    quarter = parse(quarter)
    targets = targets or {}
    params = {"baseline_quarters": baseline_quarters, "income_baseline_year": income_baseline_year}
    rows = []
    for headline in headlines():
        try:
            series = headline.series(data, quarter, icb, **params)
        except kc.MissingTableError:
            continue
        label = series.attrs.get("label", headline.label)  # a series may say what it counts (trials or studies)
        series = series[[parse(q) <= quarter for q in series.index]]
        latest = series.get(quarter.id, np.nan)
        previous = series.get(quarter.previous().id, np.nan)
        last_year = series.get(quarter.same_quarter_last_year().id, np.nan)
        value = _shown(latest, headline.people)
        previous_shown = _shown(previous, headline.people)
        last_year_shown = _shown(last_year, headline.people)

        target_value, rating = np.nan, None
        target = targets.get(headline.kpi)
        if target is not None and quarter >= target.baseline.quarter:
            baseline_value = None
            if headline.baseline is not None:
                baseline_value = headline.baseline(data, quarter, icb, **params)
            if target.baseline.value is not None or baseline_value is not None:
                target_value = target.value_at(quarter, baseline_value)
                if not pd.isna(latest):
                    rating = targets_module.rag(float(latest), target, quarter, baseline_value)
        frame = kpis.kpi_spc(
            headline.kpi, series, headline.direction, None if pd.isna(target_value) else float(target_value)
        )
        variation, assurance, trial, spc_from = _spc_icons(frame, headline.direction)
        if frame is not None and spc_frames is not None:
            spc_frames[headline.kpi] = frame
        rows.append(
            {
                "Section": headline.section,
                "Kpi": headline.kpi,
                "Label": label,
                "Unit": headline.unit,
                "Direction": headline.direction,
                "Quarter": quarter.id,
                "Value": value,
                "PreviousQuarterValue": previous_shown,
                "ChangeOnPreviousQuarter": _change(value, previous_shown),
                "SameQuarterLastYearValue": last_year_shown,
                "ChangeOnSameQuarterLastYear": _change(value, last_year_shown),
                "Target": target_value,
                "Rag": rating,
                "Variation": variation,
                "Assurance": assurance,
                "Points": int(series.notna().sum()),
                "TrialLimits": trial,
                "Disclosed": headline.people,
                "Chart": kpis.DEFINITIONS[headline.kpi].chart,
                "SpcFrom": spc_from,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
