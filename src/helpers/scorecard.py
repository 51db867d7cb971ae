"""The board scorecard: every headline KPI with its latest value, changes, target, RAG and SPC icons.

Each headline KPI is a quarterly series from the KPI modules. For counts of people the value and
the changes shown are the disclosed (rounded or suppressed) figures; SPC runs on the exact series,
and only its icon names are published.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_common as kc,
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
    histories: dict | None = None,
    given_series: dict | None = None,
) -> pd.DataFrame:
    """One row per headline KPI for the quarter (columns :data:`COLUMNS`).

    ``targets``: KPI id -> :class:`helpers.targets.Target` (from :func:`helpers.targets.load_targets`),
    or None for no targets. Target is the trajectory at the quarter (NaN before the target's
    baseline quarter or when the KPI has none); Rag is green/amber/red against it (None without a
    target). Variation and Assurance are :mod:`helpers.spc` icon names from :func:`helpers.kpis.kpi_spc` (its
    current period, from SpcFrom; Assurance needs a target), None for KPIs charted as ``run`` or
    ``progress`` (column Chart). A KPI whose tables were not loaded is left out. ``spc_frames``, when
    given, receives each XmR KPI's SPC frame (KPI id -> frame), for its chart; ``histories``, when
    given, each KPI's exact quarterly series to the quarter (KPI id -> values indexed by quarter id),
    for the pack's record (:mod:`helpers.pack_record`). ``given_series``: KPI id -> the ICB's series
    computed already (for the packs of a many-ICB folder, every ICB's in one pass,
    :mod:`helpers.icb_histories`); a KPI it lacks is computed here.
    """
    quarter = parse(quarter)
    targets = targets or {}
    # targets too: a KPI counted from its target's start (cross-system studies) follows the file given
    params = {"baseline_quarters": baseline_quarters, "income_baseline_year": income_baseline_year, "targets": targets}
    rows = []
    for kpi in kpis.REGISTRY:
        try:
            if given_series and kpi.id in given_series:
                if any(getattr(data, t, None) is None for t in kpi.tables):
                    continue  # as computing it here would (MissingTableError): its baseline needs them too
                series = given_series[kpi.id]
            else:
                series = kpi.series(data, quarter, icb, **params)
        except kc.MissingTableError:
            continue
        label = series.attrs.get("label", kpi.label)  # a series may say what it counts (trials or studies)
        series = series[[parse(q) <= quarter for q in series.index]]
        if histories is not None:
            histories[kpi.id] = series
        latest = series.get(quarter.id, np.nan)
        previous = series.get(quarter.previous().id, np.nan)
        last_year = series.get(quarter.same_quarter_last_year().id, np.nan)
        value = _shown(latest, kpi.people)
        previous_shown = _shown(previous, kpi.people)
        last_year_shown = _shown(last_year, kpi.people)

        target_value, rating = np.nan, None
        target = targets.get(kpi.id)
        if target is not None and quarter >= target.baseline.quarter:
            baseline_value = None
            if kpi.baseline is not None:
                baseline_value = kpi.baseline(data, quarter, icb, **params)
            if target.baseline.value is not None or baseline_value is not None:
                target_value = target.value_at(quarter, baseline_value)
                if not pd.isna(latest):
                    rating = targets_module.rag(float(latest), target, quarter, baseline_value)
        frame = kpis.kpi_spc(kpi.id, series, kpi.direction, None if pd.isna(target_value) else float(target_value))
        variation, assurance, trial, spc_from = _spc_icons(frame, kpi.direction)
        if frame is not None and spc_frames is not None:
            spc_frames[kpi.id] = frame
        rows.append(
            {
                "Section": kpi.group,
                "Kpi": kpi.id,
                "Label": label,
                "Unit": kpi.unit,
                "Direction": kpi.direction,
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
                "Disclosed": kpi.people,
                "Chart": kpi.chart,
                "SpcFrom": spc_from,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
