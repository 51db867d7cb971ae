"""Partnership and workforce KPIs: cross-system portfolio studies against the plan's target,
joint NHS/university appointments and research-active staff (counts of people: disclosed by
default)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.quarters import Quarter, parse
from helpers.targets import load_targets

CROSS_SYSTEM_KPI = "cross_system_studies"  # the target's id in params/targets.yml


def cross_system_rule(targets=None) -> tuple[Quarter, float, Quarter]:
    """The cross-system rule from the targets file: (first quarter counted, target, due quarter).

    The count starts the quarter after the target's baseline quarter (the file's baseline is 0 at
    2022/23 Q4, so studies count from 2023/24 Q1, the plan's first quarter); the target (at least
    5) is due by its ``by`` quarter (2025/26 Q4). ``targets``: KPI id -> Target, as from
    :func:`helpers.targets.load_targets`; None reads ``params/targets.yml``.
    """
    # A targets dict without this KPI (or none) falls back to the project's file: the rule is the plan's.
    target = (targets or {}).get(CROSS_SYSTEM_KPI) or load_targets()[CROSS_SYSTEM_KPI]
    return target.baseline.quarter.shift(1), float(target.target_value()), target.by


def cross_system_studies(
    data,
    quarter,
    icb: str,
    target: float | None = None,
    target_quarter: str | None = None,
    counts_from: str | None = None,
    targets=None,
) -> pd.DataFrame:
    """NIHR portfolio studies needing cross-system partnership opened per quarter, and the
    cumulative count of those opened from ``counts_from`` (0 before it), with the target (applies
    from ``target_quarter`` on; NaN before). ``target``, ``target_quarter`` and ``counts_from``
    default to the rule in the targets file (:func:`cross_system_rule`). Rows from the first
    quarter of the supplied data (:func:`helpers.kpi_common.study_history_index`), or from
    ``counts_from`` when the data start later.

    Columns: Quarter, NewCrossSystemStudies (every opening in the quarter),
    CumulativeCrossSystemStudies (openings from ``counts_from``), Target, TargetMet.
    """
    quarter = parse(quarter)
    if target is None or target_quarter is None or counts_from is None:
        rule_start, rule_target, rule_due = cross_system_rule(targets)
        counts_from = rule_start if counts_from is None else counts_from
        target = rule_target if target is None else target
        target_quarter = rule_due if target_quarter is None else target_quarter
    start = parse(counts_from).ordinal
    studies = kc.table(kc.icb_slice(data, icb), "studies")
    chosen = studies[
        studies["CrossSystemPartnership"].to_numpy(dtype=bool) & studies["NihrPortfolio"].to_numpy(dtype=bool)
    ]
    ordinals = kc.study_history_index(data, chosen, quarter)
    counts = kc.by_quarter(
        chosen.assign(_one=1), "_one", quarter, date_column="ActualOpeningDate", first=int(ordinals[0])
    ).astype("int64")
    # Only openings from the rule's start quarter count towards the target (the plan's rule).
    counted = counts.where(counts.index >= start, 0)
    cumulative = counted.cumsum().reindex(ordinals)
    out = kc.history_frame(counts.reindex(ordinals), "NewCrossSystemStudies")
    out["CumulativeCrossSystemStudies"] = cumulative.to_numpy()
    due = kc.quarter_id_ordinals(out["Quarter"]) >= parse(target_quarter).ordinal
    out["Target"] = np.where(due, float(target), np.nan)
    out["TargetMet"] = out["CumulativeCrossSystemStudies"] >= target
    return out


def _cross_system_counts(
    data, quarter: Quarter, icbs: Sequence[str], counts_from
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cross_system_studies`' counts for every ICB at once: (``base``, each ICB's first
    quarter, openings per ICB and quarter, cumulative count from ``counts_from``), the grids'
    column ``j`` the quarter of ordinal ``base + j``; each ICB's rows from the start of its own
    periodic data (:func:`helpers.kpi_common.study_history_index` on its extract)."""
    q, size = quarter.ordinal, len(icbs)
    start = parse(counts_from).ordinal
    studies = kc.require_table(data, "studies")
    chosen = studies["CrossSystemPartnership"].to_numpy(dtype=bool) & studies["NihrPortfolio"].to_numpy(dtype=bool)
    positions = np.where(chosen, kc.row_icbs(studies, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data)), -1)
    opened = kc.frame_ordinals(studies, "ActualOpeningDate")
    starts = kc.study_history_starts(data, quarter, icbs, positions, opened)
    base = int(starts.min()) if size else q
    width = q - base + 1

    def grid(rows: np.ndarray) -> np.ndarray:
        columns = np.maximum(opened[rows], base).astype("int64") - base
        return np.bincount(positions[rows] * width + columns, minlength=size * width).reshape(size, width)

    in_rows = (positions >= 0) & (opened >= base) & (opened <= q)  # NaN compares False
    # Each opening from the rule's start up to the quarter counts from its quarter on (an opening
    # before the first column counts in the first column: the cumulative count includes it).
    counted = (positions >= 0) & (opened >= start) & (opened <= q)
    return base, starts, grid(in_rows), np.cumsum(grid(counted), axis=1)


def cross_system_studies_all_icbs(data, quarter, icbs: Sequence[str], counts_from=None, targets=None) -> pd.DataFrame:
    """:func:`cross_system_studies`' ``CumulativeCrossSystemStudies`` for every ICB at once (long:
    IcbCode, Quarter, CumulativeCrossSystemStudies): NIHR portfolio cross-system studies led in the
    ICB opened from ``counts_from`` (default: the targets file's rule) to each quarter, each ICB's
    rows from the start of its own periodic data (:func:`helpers.kpi_common.study_history_index`
    on its extract)."""
    quarter = parse(quarter)
    counts_from = counts_from if counts_from is not None else cross_system_rule(targets)[0]
    base, starts, _, cumulative = _cross_system_counts(data, quarter, icbs, counts_from)
    return kc.long_histories(icbs, quarter, base, starts, {"CumulativeCrossSystemStudies": cumulative})


def cross_system_studies_frames_all_icbs(data, quarter, icbs: Sequence[str], targets=None) -> pd.DataFrame:
    """:func:`cross_system_studies` (the targets file's rule) for every ICB at once, ``IcbCode`` first."""
    quarter = parse(quarter)
    counts_from, target, due = cross_system_rule(targets)
    base, starts, new, cumulative = _cross_system_counts(data, quarter, icbs, counts_from)
    counts = {"NewCrossSystemStudies": new, "CumulativeCrossSystemStudies": cumulative}
    out = kc.long_histories(icbs, quarter, base, starts, counts).astype({name: "int64" for name in counts})
    out["Quarter"] = out["Quarter"].astype("string")
    out["Target"] = np.where(kc.quarter_id_ordinals(out["Quarter"]) >= due.ordinal, target, np.nan)
    out["TargetMet"] = out["CumulativeCrossSystemStudies"] >= target
    return out


def cross_system_target_status(data, quarter, icb: str, targets=None) -> dict:
    """Where the cross-system count stands against the plan's rule, today and at the due quarter.

    Keys: CountsFrom, DueQuarter (quarter ids), Target, CountNow, MetNow, CountAtDue and MetAtDue
    (None while the due quarter is after the quarter reported).
    """
    quarter = parse(quarter)
    counts_from, target, due = cross_system_rule(targets)
    frame = cross_system_studies(data, quarter, icb, targets=targets).set_index("Quarter")
    now = int(frame["CumulativeCrossSystemStudies"].iloc[-1])
    at_due = int(frame.at[due.id, "CumulativeCrossSystemStudies"]) if due <= quarter and due.id in frame.index else None
    return {
        "CountsFrom": counts_from.id,
        "DueQuarter": due.id,
        "Target": target,
        "CountNow": now,
        "MetNow": now >= target,
        "CountAtDue": at_due,
        "MetAtDue": None if at_due is None else at_due >= target,
    }


def cross_system_status(data, quarter, icb: str, targets=None) -> pd.DataFrame:
    """:func:`cross_system_target_status` as a one-row frame (the cross_system_status detail frame)."""
    return pd.DataFrame([cross_system_target_status(data, quarter, icb, targets=targets)])


def cross_system_status_frames_all_icbs(data, quarter, icbs: Sequence[str], targets=None) -> pd.DataFrame:
    """:func:`cross_system_status` for every ICB at once (one row each), ``IcbCode`` first.

    An ICB whose count at the due quarter is unknown (its rows start later) has None there, in
    object columns: when other ICBs have that count (int64 and bool columns), one frame cannot hold
    both, and its row is left out (its pack computes it).
    """
    quarter = parse(quarter)
    counts_from, target, due = cross_system_rule(targets)
    base, starts, _, cumulative = _cross_system_counts(data, quarter, icbs, counts_from)
    now = cumulative[:, quarter.ordinal - base]
    # cross_system_target_status: the count at the due quarter when that is a row of the ICB's frame
    known = starts <= due.ordinal if due <= quarter else np.zeros(len(icbs), dtype=bool)
    at_due = cumulative[:, due.ordinal - base] if known.any() else None  # base <= a known ICB's start
    keep = known if known.any() else np.ones(len(icbs), dtype=bool)
    out = pd.DataFrame(
        {
            "IcbCode": [icb for icb, kept in zip(icbs, keep) if kept],
            "CountsFrom": counts_from.id,
            "DueQuarter": due.id,
            "Target": target,
            "CountNow": now[keep].astype("int64"),
            "MetNow": now[keep] >= target,
        }
    )
    if known.any():
        out["CountAtDue"] = at_due[keep].astype("int64")
        out["MetAtDue"] = at_due[keep] >= target
    else:
        out["CountAtDue"] = pd.Series([None] * len(out), dtype=object)
        out["MetAtDue"] = pd.Series([None] * len(out), dtype=object)
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


def _workforce_total_all_icbs(data, quarter, icbs: Sequence[str], column: str) -> pd.DataFrame:
    """:func:`_workforce_total` (exact, ``disclosed=False``) for every ICB at once, long: IcbCode,
    Quarter, ``column``; each ICB's rows from its own first workforce quarter (``by_quarter``)."""
    quarter = parse(quarter)
    workforce = kc.require_table(data, "workforce")
    positions = kc.row_icbs(workforce, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    # by_quarter's pandas sum skips missing values
    values = np.nan_to_num(workforce[column].to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    base, starts, sums = kc.sums_by_icb_and_quarter(
        positions, kc.quarter_id_ordinals(workforce["Quarter"]), quarter, len(icbs), {column: values}
    )
    # the int64 cast mirrors the per-ICB astype
    totals = sums[column].astype("int64").astype("float64")
    return kc.long_histories(icbs, quarter, base, starts, {column: totals})


def joint_appointments_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`joint_appointments` (exact counts) for every ICB at once, long: IcbCode, Quarter,
    JointAppointments."""
    return _workforce_total_all_icbs(data, quarter, icbs, "JointAppointments")


def research_active_staff_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`research_active_staff` (exact counts) for every ICB at once, long: IcbCode, Quarter,
    ResearchActiveStaff."""
    return _workforce_total_all_icbs(data, quarter, icbs, "ResearchActiveStaff")


def _workforce_frames_all_icbs(data, quarter, icbs: Sequence[str], column: str) -> pd.DataFrame:
    """:func:`_workforce_total` (disclosed) for every ICB at once, ``IcbCode`` first."""
    out = _workforce_total_all_icbs(data, quarter, icbs, column).astype({column: "int64"})
    out["Quarter"] = out["Quarter"].astype("string")
    return kc.published_counts_all_icbs(out, [column])


def joint_appointments_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`joint_appointments` (disclosed) for every ICB at once, ``IcbCode`` first."""
    return _workforce_frames_all_icbs(data, quarter, icbs, "JointAppointments")


def research_active_staff_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`research_active_staff` (disclosed) for every ICB at once, ``IcbCode`` first."""
    return _workforce_frames_all_icbs(data, quarter, icbs, "ResearchActiveStaff")


_WORKFORCE_COUNTS = ["ResearchActiveStaff", "JointAppointments"]  # workforce_by_organisation's counts


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
    return kc.published_breakdown(out, _WORKFORCE_COUNTS, "OrganisationCode")


def workforce_by_organisation_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`workforce_by_organisation` (disclosed) for every ICB at once, ``IcbCode`` first, each
    ICB's breakdown protected against its own total row (:func:`helpers.kpi_common.published_breakdowns`).

    An ICB with no workforce rows in the quarter is left out (its pack computes its frame): its
    lone total row has no quarter, and its text columns are then of object, not text, dtype, which
    one frame with other ICBs' rows cannot hold. So is one with a negative count (its frame raises).
    """
    quarter = parse(quarter)
    size = len(icbs)
    workforce = kc.require_table(data, "workforce")
    positions = kc.row_icbs(workforce, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    rows = np.flatnonzero((positions >= 0) & (workforce["Quarter"] == quarter.id).to_numpy(dtype=bool))
    codes = workforce["OrganisationCode"].to_numpy()[rows]
    # Each ICB's rows by organisation code (a stable sort, as sort_values on text), ICBs in order.
    order = np.lexsort((codes.astype(str), positions[rows]))
    rows, groups = rows[order], positions[rows][order]
    counts = {c: workforce[c].to_numpy(dtype="int64")[rows] for c in _WORKFORCE_COUNTS}
    rejected = np.bincount(groups, weights=np.any([v < 0 for v in counts.values()], axis=0), minlength=size) > 0
    kept = ~rejected[groups]
    rows, groups = rows[kept], groups[kept]
    organisations = kc.require_table(data, "organisations")
    names = organisations.set_index("OrganisationCode")["OrganisationName"]
    names = names[~names.index.duplicated(keep="last")]  # the organisation icb_of_organisations gives its ICB
    codes = workforce["OrganisationCode"].to_numpy()[rows]
    out = pd.DataFrame(
        {
            "IcbCode": np.asarray(list(icbs), dtype=object)[groups],
            "Quarter": quarter.id,
            "OrganisationCode": codes,
            "OrganisationName": names.reindex(codes).to_numpy(),
            **{c: v[kept] for c, v in counts.items()},
        }
    )
    return kc.published_breakdowns(out, _WORKFORCE_COUNTS, "OrganisationCode", "IcbCode")


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "cross_system_status": cross_system_status_frames_all_icbs,
    "cross_system_studies": cross_system_studies_frames_all_icbs,
    "research_active_staff": research_active_staff_frames_all_icbs,
    "joint_appointments": joint_appointments_frames_all_icbs,
    "workforce_by_organisation": workforce_by_organisation_frames_all_icbs,
}
