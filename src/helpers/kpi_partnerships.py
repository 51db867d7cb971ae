"""Partnership and workforce KPIs: cross-system portfolio studies against the plan's target,
joint NHS/university appointments and research-active staff (counts of people: disclosed by
default)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.quarters import parse

CROSS_SYSTEM_TARGET = 5  # at least 5 portfolio studies needing cross-system partnership ...
CROSS_SYSTEM_TARGET_QUARTER = "2025-26-Q4"  # ... by the end of 2025/26


def cross_system_studies(
    data, quarter, icb: str, target: int = CROSS_SYSTEM_TARGET, target_quarter: str = CROSS_SYSTEM_TARGET_QUARTER
) -> pd.DataFrame:
    """NIHR portfolio studies needing cross-system partnership opened per quarter and cumulatively
    to date, with the target (applies from ``target_quarter`` on; NaN before). Rows from the first
    quarter of the supplied data (:func:`helpers.kpi_common.study_history_index`); the total to date
    includes studies opened before it.

    Columns: Quarter, NewCrossSystemStudies, CumulativeCrossSystemStudies, Target, TargetMet.
    """
    quarter = parse(quarter)
    studies = kc.table(kc.icb_slice(data, icb), "studies")
    chosen = studies[
        studies["CrossSystemPartnership"].to_numpy(dtype=bool) & studies["NihrPortfolio"].to_numpy(dtype=bool)
    ]
    ordinals = kc.study_history_index(data, chosen, quarter)
    counts = kc.by_quarter(
        chosen.assign(_one=1), "_one", quarter, date_column="ActualOpeningDate", first=int(ordinals[0])
    ).astype("int64")
    # The total to date counts every opening, also those before the history shown starts.
    cumulative = counts.cumsum().reindex(ordinals)
    out = kc.history_frame(counts.reindex(ordinals), "NewCrossSystemStudies")
    out["CumulativeCrossSystemStudies"] = cumulative.to_numpy()
    due = kc.quarter_id_ordinals(out["Quarter"]) >= parse(target_quarter).ordinal
    out["Target"] = np.where(due, float(target), np.nan)
    out["TargetMet"] = out["CumulativeCrossSystemStudies"] >= target
    return out


def _workforce_total(data, quarter, icb: str, column: str, disclosed: bool) -> pd.DataFrame:
    quarter = parse(quarter)
    workforce = kc.table(kc.icb_slice(data, icb), "workforce")
    totals = kc.by_quarter(workforce, column, quarter, date_column="Quarter").astype("int64")
    out = kc.history_frame(totals, column)
    return kc.published_counts(out, [column]) if disclosed else out


def joint_appointments(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """Joint NHS/university clinical academic appointments in post at each quarter's end, summed
    over the ICB's organisations. Columns: Quarter, JointAppointments."""
    return _workforce_total(data, quarter, icb, "JointAppointments", disclosed)


def research_active_staff(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """Research-active staff per quarter, summed over the ICB's organisations.
    Columns: Quarter, ResearchActiveStaff."""
    return _workforce_total(data, quarter, icb, "ResearchActiveStaff", disclosed)


def workforce_by_organisation(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """Research-active staff and joint appointments per organisation in the quarter.
    Columns: Quarter, OrganisationCode, OrganisationName, ResearchActiveStaff, JointAppointments."""
    quarter = parse(quarter)
    sliced = kc.icb_slice(data, icb)
    workforce = kc.table(sliced, "workforce")
    rows = workforce[workforce["Quarter"] == quarter.id]
    names = kc.table(sliced, "organisations").set_index("OrganisationCode")["OrganisationName"]
    out = pd.DataFrame(
        {
            "Quarter": quarter.id,
            "OrganisationCode": rows["OrganisationCode"].to_numpy(),
            "OrganisationName": names.reindex(rows["OrganisationCode"].to_numpy()).to_numpy(),
            "ResearchActiveStaff": rows["ResearchActiveStaff"].to_numpy(dtype="int64"),
            "JointAppointments": rows["JointAppointments"].to_numpy(dtype="int64"),
        }
    ).sort_values("OrganisationCode", ignore_index=True)
    if not disclosed:
        return out
    # The ICB totals are published too, so the breakdown is protected against a total row.
    return kc.published_breakdown(out, ["ResearchActiveStaff", "JointAppointments"], "OrganisationCode")
