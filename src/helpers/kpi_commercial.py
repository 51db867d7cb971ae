"""Commercial research KPIs: commercial share of open studies, commercial participants,
commercial contract income against the doubling trajectory, NCVR set-up time and recruitment to
time and target (RTT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.contract import STUDY_ROUTES
from helpers.disclosure import share_from_rounded
from helpers.quarters import parse
from helpers.targets import trajectory_series

COMMERCIAL = "Commercial"
COMMERCIAL_INCOME = "commercial_contract"
DEFAULT_INCOME_BASELINE_YEAR = "2022/23"
# The National Contract Value Review began on 1 October 2022: set-up before it is not NCVR set-up.
NCVR_START = "2022-10-01"
# Trials: interventional studies (CPMS design Interventional, or Both interventional and observational).
TRIAL_DESIGNS = ("Interventional", "Both")
# UK clinical research delivery KPI: commercial clinical trials set up within 150 days.
NATIONAL_SETUP_TARGET_DAYS = 150


def has_study_design(studies: pd.DataFrame) -> bool:
    """True when the studies table gives a ``StudyDesign`` (the optional column) for any study."""
    return "StudyDesign" in studies.columns and bool(studies["StudyDesign"].notna().any())


def commercial_share_label(frame: pd.DataFrame) -> str:
    """The label of :func:`commercial_share_of_open_studies`' ``CommercialPct``: of open trials
    when the study design was given, else of all open studies."""
    if bool(frame["TrialsOnly"].any()):
        return "Commercial trials, % of open trials"
    return "Commercial studies, % of all open studies"


def commercial_share_of_open_studies(data, quarter, icb: str, portfolio_only: bool = True) -> pd.DataFrame:
    """Commercial share of the (NIHR portfolio) studies open at any time in each quarter, from the
    first quarter of the supplied data (:func:`helpers.kpi_common.study_history_index`).

    The plan states the share of *trials*: when the studies table gives ``StudyDesign`` (optional,
    CPMS-style), only trials count, i.e. studies whose design is ``Interventional`` or ``Both``
    (observational studies and studies with a blank design are left out of both counts) and
    ``TrialsOnly`` is True; without it, the share is of all open studies (TrialsOnly False). The
    label says which (:func:`commercial_share_label`).

    Columns: Quarter, OpenStudies, CommercialOpenStudies, CommercialPct, TrialsOnly.
    """
    quarter = parse(quarter)
    studies = kc.portfolio(kc.table(kc.icb_slice(data, icb), "studies"), portfolio_only)
    trials_only = has_study_design(studies)
    if trials_only:
        studies = studies[studies["StudyDesign"].isin(TRIAL_DESIGNS).fillna(False).to_numpy(dtype=bool)]
    ordinals = kc.study_history_index(data, studies, quarter)
    matrix = kc.open_matrix(studies, ordinals)
    commercial = (studies["StudyRoute"] == COMMERCIAL).to_numpy(dtype=bool)
    out = kc.history_frame(pd.Series(matrix.sum(axis=0).astype("int64"), index=ordinals), "OpenStudies")
    out["CommercialOpenStudies"] = matrix[commercial].sum(axis=0).astype("int64")
    out["CommercialPct"] = kc.share(out["CommercialOpenStudies"], out["OpenStudies"])
    out["TrialsOnly"] = trials_only
    return out


def _commercial_ids(studies: pd.DataFrame) -> frozenset:
    """Ids of the commercial studies (cached per studies table: the national one is large)."""
    cached = kc._weak_cache(kc._row_groups, studies)
    if cached is not None and "commercial_ids" in cached:
        return cached["commercial_ids"]
    ids = frozenset(studies.loc[(studies["StudyRoute"] == COMMERCIAL).to_numpy(), "StudyId"].tolist())
    if cached is not None:
        cached["commercial_ids"] = ids
    return ids


def commercial_participants(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """Participants in commercial studies per quarter and rolling 12 months, and their % of all
    participants. Columns: Quarter, CommercialParticipants, Participants, CommercialPct,
    CommercialRolling12Months."""
    quarter = parse(quarter)
    sliced = kc.icb_slice(data, icb)
    recruitment = kc.table(sliced, "recruitment")
    # A site may recruit to a study led in another ICB, so the route comes from every study.
    commercial = kc.isin(recruitment["StudyId"], _commercial_ids(kc.table(data, "studies")))
    everyone = kc.by_quarter(recruitment, "Participants", quarter)
    in_commercial = kc.by_quarter(recruitment[commercial], "Participants", quarter, first=int(everyone.index[0]))
    out = kc.history_frame(in_commercial.astype("int64"), "CommercialParticipants")
    out["Participants"] = everyone.astype("int64").to_numpy()
    out["CommercialPct"] = kc.share(out["CommercialParticipants"], out["Participants"])
    out["CommercialRolling12Months"] = kc.rolling_sum(out["CommercialParticipants"]).astype("Int64")
    if not disclosed:
        return out
    out = kc.published_counts(out, ["CommercialParticipants", "Participants", "CommercialRolling12Months"])
    out["CommercialPct"] = share_from_rounded(out["CommercialParticipants"], out["Participants"])
    return out


def commercial_income(
    data, quarter, icb: str, baseline_year: str = DEFAULT_INCOME_BASELINE_YEAR, targets=None
) -> pd.DataFrame:
    """Commercial contract income (GBP) per quarter and rolling 12 months, against the baseline
    year's total and, when ``targets`` (KPI id -> :class:`helpers.targets.Target`, from
    :func:`helpers.targets.load_targets`) is given, the ``commercial_income`` trajectory.

    The baseline is NaN unless the finance table has rows (of any stream) for all four quarters
    of ``baseline_year``: a quarter with no rows at all is missing data, not zero income.
    Columns: Quarter, IncomeGBP, Rolling12MonthsGBP, BaselineGBP, TargetGBP (NaN before the
    target's baseline quarter or without a baseline).
    """
    quarter = parse(quarter)
    finance = kc.table(kc.icb_slice(data, icb), "finance")
    commercial = finance[finance["IncomeStream"] == COMMERCIAL_INCOME]
    baseline_quarters = parse(f"{baseline_year} Q1").financial_year()
    income = kc.by_quarter(
        commercial,
        "AmountGBP",
        quarter,
        date_column="Quarter",
        first=min(baseline_quarters[0].ordinal, quarter.ordinal),
    )
    out = kc.history_frame(income, "IncomeGBP")
    out["Rolling12MonthsGBP"] = kc.rolling_sum(out["IncomeGBP"])
    baseline_ids = [q.id for q in baseline_quarters]
    covered = set(finance["Quarter"].astype(str)) >= set(baseline_ids)
    baseline = float(out.loc[out["Quarter"].isin(baseline_ids), "IncomeGBP"].sum()) if covered else np.nan
    out["BaselineGBP"] = baseline
    out["TargetGBP"] = np.nan
    target = (targets or {}).get("commercial_income")
    if target is not None and covered:
        out["TargetGBP"] = trajectory_series(target, out["Quarter"], baseline_value=baseline).to_numpy()
    return out


def setup_times(data, quarter, icb: str, ncvr_from: str = NCVR_START) -> pd.DataFrame:
    """NCVR set-up time of each commercial study whose first participant came by the quarter's end:
    days from ``CostingSubmittedDate`` to ``FirstParticipantDate``.

    Only set-up under NCVR counts: studies whose costing was submitted on or after ``ncvr_from``
    (NCVR began on 1 October 2022; a study costed before then was not set up under it, even if its
    first participant came later). Studies missing either date are left out.
    Columns: StudyId, Quarter (of first participant), SetupDays."""
    quarter = parse(quarter)
    studies = kc.table(kc.icb_slice(data, icb), "studies")
    studies = studies[
        (studies["StudyRoute"] == COMMERCIAL)
        & studies["CostingSubmittedDate"].notna()
        & (studies["CostingSubmittedDate"] >= pd.Timestamp(ncvr_from))
        & studies["FirstParticipantDate"].notna()
        & (studies["FirstParticipantDate"] <= pd.Timestamp(quarter.end))
    ]
    days = (studies["FirstParticipantDate"] - studies["CostingSubmittedDate"]).dt.days.astype("int64")
    out = pd.DataFrame(
        {
            "StudyId": studies["StudyId"].to_numpy(),
            "Quarter": pd.array(
                kc.quarter_ids(kc.frame_ordinals(studies, "FirstParticipantDate").astype("int64")), dtype="string"
            ),
            "SetupDays": days.to_numpy(),
        }
    )
    return out.sort_values(["Quarter", "StudyId"], ignore_index=True)


def setup_time_summary(data, quarter, icb: str, ncvr_from: str = NCVR_START) -> pd.DataFrame:
    """NCVR set-up time by quarter of first participant (studies costed from ``ncvr_from``, see
    :func:`setup_times`): studies, median, quartiles, minimum and maximum days (medians of a few
    studies are fine: these are studies, not people). Rows from the first quarter with a study;
    quarters with no study have Studies 0 and NaN statistics. Columns: Quarter, Studies,
    MedianDays, LowerQuartileDays, UpperQuartileDays, MinDays, MaxDays, NationalTargetDays (the
    150-day national set-up target)."""
    quarter = parse(quarter)
    per_study = setup_times(data, quarter, icb, ncvr_from=ncvr_from)
    grouped = per_study.groupby("Quarter")["SetupDays"]
    summary = pd.DataFrame(
        {
            "Studies": grouped.size(),
            "MedianDays": grouped.median(),
            "LowerQuartileDays": grouped.quantile(0.25),
            "UpperQuartileDays": grouped.quantile(0.75),
            "MinDays": grouped.min().astype("float64"),
            "MaxDays": grouped.max().astype("float64"),
        }
    )
    if len(summary):
        first = min(parse(q).ordinal for q in summary.index)
    else:
        first = quarter.ordinal
    ids = kc.quarter_ids(kc.history_index(first, quarter))
    summary = summary.reindex(ids)
    summary["Studies"] = summary["Studies"].fillna(0).astype("int64")
    out = summary.rename_axis("Quarter").reset_index()
    out["Quarter"] = out["Quarter"].astype("string")
    out["NationalTargetDays"] = float(NATIONAL_SETUP_TARGET_DAYS)
    return out


def _rtt(data, quarters: list, icb: str, portfolio_only: bool) -> pd.DataFrame:
    """Per-study RTT at the end of each of ``quarters`` (one vectorised pass; see
    :func:`recruitment_to_time_and_target` for the definition)."""
    sliced = kc.icb_slice(data, icb)
    studies = kc.portfolio(kc.table(sliced, "studies"), portfolio_only)
    opened = studies["ActualOpeningDate"]
    planned_close = studies["PlannedClosureToRecruitmentDate"]
    studies = studies[
        ((studies["SampleSize"].fillna(0) > 0) & planned_close.notna() & (planned_close > opened)).to_numpy()
    ]
    recruitment = kc.table(sliced, "recruitment")
    study_rows = kc.positions_in(recruitment["StudyId"], pd.Index(studies["StudyId"].to_numpy()))
    month_ordinals = kc.frame_ordinals(recruitment, "Month")
    participants = recruitment["Participants"].to_numpy(dtype="float64")
    known = (study_rows >= 0) & ~np.isnan(month_ordinals)
    # Participants per (study, quarter), cumulated over quarters: recruited to date at each quarter end.
    first = int(month_ordinals[known].min()) if known.any() else 0
    last = max([q.ordinal for q in quarters] + [first])
    span = last - first + 1
    in_range = known & (month_ordinals <= last)
    per_quarter = np.bincount(
        study_rows[in_range] * span + (month_ordinals[in_range].astype("int64") - first),
        weights=participants[in_range],
        minlength=len(studies) * span,
    )
    to_date = np.cumsum(per_quarter.reshape(len(studies), span), axis=1)
    opening = studies["ActualOpeningDate"].to_numpy()
    closure = studies["ActualClosureToRecruitmentDate"].to_numpy()
    planned_days = (studies["PlannedClosureToRecruitmentDate"].to_numpy() - opening) / np.timedelta64(1, "D") + 1
    parts = []
    for quarter in quarters:
        end = np.datetime64(pd.Timestamp(quarter.end))
        open_at_end = (opening <= end) & (np.isnat(closure) | (closure > end))
        if not open_at_end.any():
            continue
        column = quarter.ordinal - first
        recruited = to_date[:, column] if column >= 0 else np.zeros(len(studies))
        chosen = np.flatnonzero(open_at_end)
        elapsed_days = (end - opening[chosen]) / np.timedelta64(1, "D") + 1
        parts.append(
            pd.DataFrame(
                {
                    "Quarter": quarter.id,
                    "StudyId": studies["StudyId"].to_numpy()[chosen],
                    "StudyRoute": studies["StudyRoute"].to_numpy()[chosen],
                    "SampleSize": studies["SampleSize"].to_numpy(dtype="int64", na_value=0)[chosen],
                    "RecruitedToDate": recruited[chosen].astype("int64"),
                    "PctTimeElapsed": 100.0 * elapsed_days / planned_days[chosen],
                }
            )
        )
    columns = [
        "Quarter",
        "StudyId",
        "StudyRoute",
        "SampleSize",
        "RecruitedToDate",
        "PctTargetReached",
        "PctTimeElapsed",
        "Rtt",
        "OnTrack",
    ]
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype="float64"
                    if c in ("PctTargetReached", "PctTimeElapsed", "Rtt")
                    else "bool"
                    if c == "OnTrack"
                    else "int64"
                    if c in ("SampleSize", "RecruitedToDate")
                    else "string"
                )
                for c in columns
            }
        )
    out = pd.concat(parts, ignore_index=True)
    out["PctTargetReached"] = 100.0 * out["RecruitedToDate"] / out["SampleSize"]
    out["Rtt"] = out["PctTargetReached"] / out["PctTimeElapsed"] - 1
    out["OnTrack"] = out["Rtt"] >= 0
    for column in ("Quarter", "StudyId", "StudyRoute"):
        out[column] = out[column].astype("string")
    return out[columns].sort_values(["Quarter", "StudyId"], ignore_index=True)


def recruitment_to_time_and_target(data, quarter, icb: str, portfolio_only: bool = True) -> pd.DataFrame:
    """RTT of each (NIHR portfolio) study open at the quarter's end that has a ``SampleSize``
    above 0 and a ``PlannedClosureToRecruitmentDate`` after its ``ActualOpeningDate``.

    NIHR definition: RTT = (% of recruitment target reached / % of planned recruitment time
    elapsed) - 1; on track when RTT >= 0. Target reached = participants recruited at the ICB's
    organisations up to the quarter's end / SampleSize. Time elapsed = days from
    ActualOpeningDate to the quarter's end / days from ActualOpeningDate to
    PlannedClosureToRecruitmentDate, both counted inclusively (so a study opened on the last day
    has 1 day elapsed, never 0). A study past its planned closure has more than 100% elapsed.

    Columns: Quarter, StudyId, StudyRoute, SampleSize, RecruitedToDate, PctTargetReached,
    PctTimeElapsed, Rtt, OnTrack.
    """
    return _rtt(data, [parse(quarter)], icb, portfolio_only)


def rtt_summary(data, quarter, icb: str, quarters: int = 8, portfolio_only: bool = True) -> pd.DataFrame:
    """% of assessed studies on track (RTT >= 0) at the end of each of the last ``quarters``
    quarters, overall and by route. Columns: Quarter, StudyRoute ('All', 'Commercial',
    'Non-commercial'), StudiesAssessed, OnTrack, PctOnTrack."""
    quarter = parse(quarter)
    wanted = [quarter.shift(-offset) for offset in range(quarters - 1, -1, -1)]
    per_study = _rtt(data, wanted, icb, portfolio_only)
    routes = ["All", *STUDY_ROUTES]
    both = pd.concat([per_study.assign(StudyRoute="All"), per_study], ignore_index=True)
    grouped = both.groupby(["Quarter", "StudyRoute"], observed=True)["OnTrack"].agg(["size", "sum"])
    index = pd.MultiIndex.from_product([[q.id for q in wanted], routes], names=["Quarter", "StudyRoute"])
    grouped = grouped.reindex(index, fill_value=0)
    out = pd.DataFrame(
        {
            "Quarter": pd.array(index.get_level_values(0), dtype="string"),
            "StudyRoute": pd.array(index.get_level_values(1), dtype="string"),
            "StudiesAssessed": grouped["size"].to_numpy(dtype="int64"),
            "OnTrack": grouped["sum"].to_numpy(dtype="int64"),
        }
    )
    out["PctOnTrack"] = kc.share(out["OnTrack"], out["StudiesAssessed"])
    return out
