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
from helpers.quarters import Quarter, parse
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
RTT_QUARTERS = 8  # quarters of rtt_summary: the last two years


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
    cached = kc.frame_cache(studies)
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


def rtt_summary(data, quarter, icb: str, quarters: int = RTT_QUARTERS, portfolio_only: bool = True) -> pd.DataFrame:
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


# ---------------------------------------------------------------------------------------------
# Every ICB at once (Kpi.all_icbs): one vectorised pass, rows grouped by ICB as icb_slice does
# ---------------------------------------------------------------------------------------------
# The tables the all-ICB participant sums and RTT counts are derived from (kpi_common.remembered).
_COUNTED_FROM = ("organisations", "studies", "recruitment")


def _flat_index(positions: np.ndarray, ordinals: np.ndarray, base: int, span: int) -> np.ndarray:
    """Index of each row's (ICB, quarter) cell in a flattened (ICBs x span) array from ``base``."""
    return positions.astype("int64") * span + (ordinals.astype("int64") - base)


def commercial_share_all_icbs(
    data, quarter, icbs, portfolio_only: bool = True, quarter_only: bool = False
) -> pd.DataFrame:
    """:func:`commercial_share_of_open_studies` for every ICB of ``icbs`` (studies by their lead
    organisation's ICB), long: IcbCode, Quarter, OpenStudies, CommercialOpenStudies, CommercialPct
    (float64) and TrialsOnly (per ICB), each ICB from its own history start; with ``quarter_only``,
    the quarter's row alone (the peer counts: no pass over the periodic tables for the starts)."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    studies = kc.require_table(data, "studies")
    positions = kc.row_icbs(studies, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
    if portfolio_only:
        positions = np.where(studies["NihrPortfolio"].to_numpy(dtype=bool), positions, -1)
    trials_only = np.zeros(size, dtype=bool)
    if "StudyDesign" in studies.columns:
        # has_study_design per ICB; then only its trials count.
        design = studies["StudyDesign"]
        trials_only = kc.per_icb(np.where(design.notna().to_numpy(dtype=bool), positions, -1), None, size) > 0
        is_trial = np.asarray(design.isin(TRIAL_DESIGNS).fillna(False), dtype=bool)
        positions = np.where(is_trial | ~np.append(trials_only, False)[positions], positions, -1)
    opened = kc.frame_ordinals(studies, "ActualOpeningDate")
    closed = kc.frame_ordinals(studies, "ActualClosureToRecruitmentDate")
    starts = (
        np.full(size, q, dtype="int64")
        if quarter_only
        else kc.study_history_starts(data, quarter, icbs, positions, opened)
    )
    base = int(starts.min()) if size else q
    span = q - base + 1
    # Open in quarters max(opened, base)..min(closed, q): +1 at the first, -1 after the last.
    first = np.maximum(opened, base)
    last = np.minimum(np.where(np.isnan(closed), q, closed), q)
    counted = (positions >= 0) & ~np.isnan(opened) & (first <= last)
    commercial = np.asarray((studies["StudyRoute"] == COMMERCIAL).fillna(False), dtype=bool)
    width = span + 1
    counts = {}
    for name, rows in (("OpenStudies", counted), ("CommercialOpenStudies", counted & commercial)):
        steps = np.bincount(_flat_index(positions[rows], first[rows], base, width), minlength=size * width)
        steps -= np.bincount(_flat_index(positions[rows], last[rows] + 1, base, width), minlength=size * width)
        counts[name] = np.cumsum(steps.reshape(size, width), axis=1)[:, :span].astype("float64")
    counts["CommercialPct"] = kc.share(counts["CommercialOpenStudies"], counts["OpenStudies"])
    out = kc.long_histories(icbs, quarter, base, starts, counts)
    out["TrialsOnly"] = np.repeat(trials_only, q - starts + 1)
    return out


def commercial_share_of_open_studies_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`commercial_share_of_open_studies` of every ICB of ``icbs``, IcbCode first."""
    frame = commercial_share_all_icbs(data, quarter, icbs)
    return frame.astype(
        {"Quarter": "string", "OpenStudies": "int64", "CommercialOpenStudies": "int64", "TrialsOnly": "bool"}
    )


def _participant_sums(data, quarter: Quarter, icbs) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """Participants (``all``) and those in commercial studies (``commercial``) per ICB and quarter
    (recruitment by the recruiting organisation's ICB, the route from every study):
    :func:`helpers.kpi_common.sums_by_icb_and_quarter`'s base, starts and sums, whole numbers (kept
    with ``data``: read only)."""
    return kc.remembered(
        data,
        ("commercial participants", quarter.ordinal, tuple(icbs)),
        lambda: _sum_participants(data, quarter, icbs),
        _COUNTED_FROM,
    )


def _sum_participants(data, quarter: Quarter, icbs) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """:func:`_participant_sums`, computed."""
    recruitment = kc.require_table(data, "recruitment")
    positions = kc.row_icbs(recruitment, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    codes, ids = kc.study_codes(recruitment)
    # A site may recruit to a study led in another ICB, so the route comes from every study.
    commercial_ids = _commercial_ids(kc.require_table(data, "studies"))
    is_commercial = np.append(np.fromiter((i in commercial_ids for i in ids), dtype=bool, count=len(ids)), False)
    participants = recruitment["Participants"].to_numpy(dtype="float64", na_value=0.0)
    # by_quarter: each ICB from its first quarter with rows (the quarter reported when none).
    base, starts, sums = kc.sums_by_icb_and_quarter(
        positions,
        kc.frame_ordinals(recruitment, "Month"),
        quarter,
        len(icbs),
        {"all": participants, "commercial": np.where(is_commercial[codes], participants, 0.0)},
    )
    # The per-ICB series holds int64 counts (exact sums of whole numbers).
    sums = {name: values.astype("int64").astype("float64") for name, values in sums.items()}
    for values in (starts, *sums.values()):
        values.flags.writeable = False
    return base, starts, sums


def commercial_participants_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`commercial_participants` (exact counts) for every ICB of ``icbs`` (recruitment by the
    recruiting organisation's ICB, the route from every study), long: IcbCode, Quarter,
    CommercialParticipants, Participants (float64), each ICB from its first month with rows."""
    quarter = parse(quarter)
    base, starts, sums = _participant_sums(data, quarter, icbs)
    columns = {"CommercialParticipants": sums["commercial"], "Participants": sums["all"]}
    return kc.long_histories(icbs, quarter, base, starts, columns)


def commercial_participants_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`commercial_participants` (published figures) of every ICB of ``icbs``, IcbCode first."""
    quarter = parse(quarter)
    base, starts, sums = _participant_sums(data, quarter, icbs)
    rolling = kc.rolling_by_icb(sums["commercial"], base, starts)
    columns = {"CommercialParticipants": sums["commercial"], "Participants": sums["all"], "Rolling": rolling}
    long = kc.long_histories(icbs, quarter, base, starts, columns)
    out = pd.DataFrame(
        {
            "IcbCode": long["IcbCode"],
            "Quarter": long["Quarter"].astype("string"),
            "CommercialParticipants": long["CommercialParticipants"].astype("int64"),
            "Participants": long["Participants"].astype("int64"),
            "CommercialPct": np.nan,
            "CommercialRolling12Months": long["Rolling"].astype("Int64"),
        }
    )
    # Disclosure is cell by cell (no published total), so the whole frame at once is each ICB's.
    out = kc.published_counts(out, ["CommercialParticipants", "Participants", "CommercialRolling12Months"])
    out["CommercialPct"] = share_from_rounded(out["CommercialParticipants"], out["Participants"])
    return out


def _income_all_icbs(data, quarter: Quarter, icbs, baseline_year: str) -> tuple:
    """:func:`commercial_income_all_icbs`'s frame; each ICB's first quarter; whether its finance rows
    cover the baseline year's four quarters; its BaselineGBP (NaN unless covered), as
    :func:`commercial_income` has them."""
    q, size = quarter.ordinal, len(icbs)
    finance = kc.require_table(data, "finance")
    positions = kc.row_icbs(finance, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    ordinals = kc.frame_quarter_ordinals(finance, "Quarter")
    commercial = np.asarray((finance["IncomeStream"] == COMMERCIAL_INCOME).fillna(False), dtype=bool)
    kept = commercial & (positions >= 0) & (ordinals <= q)
    baseline_quarters = parse(f"{baseline_year} Q1").financial_year()
    first = min(baseline_quarters[0].ordinal, q)
    firsts = kc.first_ordinals(np.where(kept, positions, -1), ordinals, size)
    starts = np.minimum(np.where(np.isnan(firsts), q, firsts), first).astype("int64")
    base = int(starts.min()) if size else q
    span = q - base + 1
    # Each ICB's rows summed by the same pandas call as by_quarter, on the same rows in the same
    # order: pandas sums floats pairwise (reduceat) when the group keys come sorted and with
    # compensation otherwise, so one groupby over every ICB's rows would differ in the last bits.
    rows = np.flatnonzero(kept)
    rows = rows[np.argsort(positions[rows], kind="stable")]
    bounds = np.searchsorted(positions[rows], np.arange(size + 1))
    amounts = finance["AmountGBP"].to_numpy()
    income = np.zeros((size, span))
    for position in range(size):
        own = rows[bounds[position] : bounds[position + 1]]
        if len(own):
            sums = pd.Series(amounts[own], dtype="float64").groupby(ordinals[own].astype("int64")).sum()
            income[position, sums.index.to_numpy() - base] = sums.to_numpy()
    out = kc.long_histories(icbs, quarter, base, starts, {"IncomeGBP": income})
    # Rolling sums restart at each ICB (a groupby rolling equals each ICB's own rolling_sum).
    rolling = (
        out["IncomeGBP"]
        .groupby(np.repeat(np.arange(size), q - starts + 1), sort=False)
        .rolling(kc.ROLLING_QUARTERS, min_periods=kc.ROLLING_QUARTERS)
        .sum()
    )
    out["Rolling12MonthsGBP"] = rolling.droplevel(0).sort_index().to_numpy()
    # Covered: the ICB's rows (any stream, any quarter) name each baseline quarter's id, as text.
    baseline_ids = [b.id for b in baseline_quarters]
    codes, uniques = kc.codes_of(finance["Quarter"])
    which = np.array([baseline_ids.index(str(u)) if str(u) in baseline_ids else -1 for u in uniques] + [-1])[codes]
    named = (positions >= 0) & (which >= 0)
    cells = np.bincount(positions[named] * len(baseline_ids) + which[named], minlength=size * len(baseline_ids))
    covered = (cells.reshape(size, len(baseline_ids)) > 0).all(axis=1)
    # The baseline quarters of the history (each ICB's starts no later), summed as Series.sum does.
    in_history = [b.ordinal - base for b in baseline_quarters if b.ordinal <= q]
    baseline = np.where(covered, income[:, in_history].sum(axis=1), np.nan)
    return out, starts, covered, baseline


def commercial_income_all_icbs(data, quarter, icbs, baseline_year: str = DEFAULT_INCOME_BASELINE_YEAR) -> pd.DataFrame:
    """:func:`commercial_income`'s IncomeGBP and Rolling12MonthsGBP for every ICB of ``icbs``
    (finance by the organisation's ICB), long: IcbCode, Quarter, IncomeGBP, Rolling12MonthsGBP,
    each ICB from its first commercial quarter or the baseline year's first, whichever is earlier."""
    return _income_all_icbs(data, parse(quarter), icbs, baseline_year)[0]


def commercial_income_frames_all_icbs(data, quarter, icbs, targets=None) -> pd.DataFrame:
    """:func:`commercial_income` of every ICB of ``icbs``, IcbCode first (an ICB whose trajectory
    cannot be drawn left out: its pack raises it)."""
    quarter = parse(quarter)
    out, starts, covered, baseline = _income_all_icbs(data, quarter, icbs, DEFAULT_INCOME_BASELINE_YEAR)
    lengths = quarter.ordinal - starts + 1
    out["Quarter"] = out["Quarter"].astype("string")
    out["BaselineGBP"] = np.repeat(baseline, lengths)
    out["TargetGBP"] = np.nan
    target = (targets or {}).get("commercial_income")
    if target is None:
        return out
    # The trajectory of each covered ICB from its own baseline: a few dozen values per ICB.
    ends = np.cumsum(lengths)
    kept = np.ones(len(out), dtype=bool)
    target_gbp = np.full(len(out), np.nan)
    for position in np.flatnonzero(covered):
        rows = slice(ends[position] - lengths[position], ends[position])
        try:
            values = trajectory_series(target, out["Quarter"].array[rows], baseline_value=baseline[position])
        except ValueError:  # TargetsError: its pack raises it
            kept[rows] = False
            continue
        target_gbp[rows] = values.to_numpy()
    out["TargetGBP"] = target_gbp
    return out if kept.all() else out[kept].reset_index(drop=True)


def setup_time_summary_frames_all_icbs(data, quarter, icbs, ncvr_from: str = NCVR_START) -> pd.DataFrame:
    """:func:`setup_time_summary` of every ICB of ``icbs`` (studies by their lead organisation's
    ICB), IcbCode first, each ICB from its first quarter with a study (the quarter reported when none)."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    studies = kc.require_table(data, "studies")
    positions = kc.row_icbs(studies, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
    costed = studies["CostingSubmittedDate"]
    first_participant = studies["FirstParticipantDate"]
    chosen = np.flatnonzero(
        (positions >= 0)
        & np.asarray((studies["StudyRoute"] == COMMERCIAL).fillna(False), dtype=bool)
        & (costed.notna() & (costed >= pd.Timestamp(ncvr_from))).to_numpy(dtype=bool)
        & (first_participant.notna() & (first_participant <= pd.Timestamp(quarter.end))).to_numpy(dtype=bool)
    )
    days = (first_participant.iloc[chosen] - costed.iloc[chosen]).dt.days.astype("int64").to_numpy()
    ordinals = kc.quarter_ordinals(first_participant.iloc[chosen])
    firsts = kc.first_ordinals(positions[chosen], ordinals, size)
    starts = np.where(np.isnan(firsts), q, firsts).astype("int64")
    base = int(starts.min()) if size else q
    span = q - base + 1
    cells = _flat_index(positions[chosen], ordinals, base, span)
    # pandas' group statistics of the int64 days, as setup_time_summary takes each quarter's: each
    # group's figure comes from its own values only.
    grouped = pd.Series(days).groupby(cells)
    statistics = {
        "Studies": grouped.size(),
        "MedianDays": grouped.median(),
        "LowerQuartileDays": grouped.quantile(0.25),
        "UpperQuartileDays": grouped.quantile(0.75),
        "MinDays": grouped.min(),
        "MaxDays": grouped.max(),
    }
    columns = {}
    for name, values in statistics.items():
        column = np.full(size * span, 0.0 if name == "Studies" else np.nan)
        column[values.index.to_numpy()] = values.to_numpy(dtype="float64")
        columns[name] = column.reshape(size, span)
    out = kc.long_histories(icbs, quarter, base, starts, columns)
    out["NationalTargetDays"] = float(NATIONAL_SETUP_TARGET_DAYS)
    return out.astype({"Quarter": "string", "Studies": "int64"})


def setup_median_all_icbs(data, quarter, icbs, ncvr_from: str = NCVR_START) -> pd.DataFrame:
    """:func:`setup_time_summary`'s Studies and MedianDays for every ICB of ``icbs``, long:
    IcbCode, Quarter, Studies, MedianDays (:func:`setup_time_summary_frames_all_icbs`)."""
    frame = setup_time_summary_frames_all_icbs(data, quarter, icbs, ncvr_from=ncvr_from)
    return frame[["IcbCode", "Quarter", "Studies", "MedianDays"]]


RTT_ROUTES = ("All", *STUDY_ROUTES)  # rtt_summary's StudyRoute rows, in its order


def _rtt_counts_all_icbs(data, quarter: Quarter, icbs, quarters: int, portfolio_only: bool) -> tuple:
    """:func:`rtt_summary`'s StudiesAssessed and OnTrack for every ICB of ``icbs`` (studies led in
    the ICB, participants recruited at its own organisations, as :func:`_rtt` counts them), each of
    shape (ICBs, quarters, :data:`RTT_ROUTES`), the quarters from ``quarter`` - ``quarters`` + 1
    (kept with ``data``: read only)."""
    key = ("commercial rtt", quarter.ordinal, tuple(icbs), quarters, portfolio_only)
    return kc.remembered(data, key, lambda: _count_rtt(data, quarter, icbs, quarters, portfolio_only), _COUNTED_FROM)


def _count_rtt(data, quarter: Quarter, icbs, quarters: int, portfolio_only: bool) -> tuple:
    q, size = quarter.ordinal, len(icbs)
    base = q - quarters + 1
    studies = kc.require_table(data, "studies")
    recruitment = kc.require_table(data, "recruitment")
    icb_of = kc.icb_of_organisations(data)
    opening = studies["ActualOpeningDate"].to_numpy()
    planned = studies["PlannedClosureToRecruitmentDate"].to_numpy()
    closure = studies["ActualClosureToRecruitmentDate"].to_numpy()
    sample_size = studies["SampleSize"].to_numpy(dtype="int64", na_value=0)
    eligible = (sample_size > 0) & ~np.isnat(planned) & (planned > opening)  # NaT compares False
    # Only studies open at the end of some quarter shown can be assessed: fewer recruitment rows.
    first_end = np.datetime64(pd.Timestamp(Quarter.from_ordinal(base).end))
    eligible &= (opening <= np.datetime64(pd.Timestamp(quarter.end))) & (np.isnat(closure) | (closure > first_end))
    if portfolio_only:
        eligible &= studies["NihrPortfolio"].to_numpy(dtype=bool)
    study_icbs = np.where(eligible, kc.row_icbs(studies, "LeadOrganisationCode", icbs, icb_of), -1)
    chosen = np.flatnonzero(study_icbs >= 0)
    chosen_icbs = study_icbs[chosen]
    # Participants per (chosen study, quarter) at organisations of the study's own ICB; rows before
    # the first quarter shown go to it, so the cumulative sum is recruited to date at each end.
    codes, ids = kc.study_codes(recruitment)
    study_of_code = np.append(
        pd.Index(studies["StudyId"].to_numpy()[chosen]).get_indexer(pd.Index(ids, dtype=object)), -1
    )
    study_rows = study_of_code[codes]
    site_icbs = kc.row_icbs(recruitment, "OrganisationCode", icbs, icb_of)
    months = kc.frame_ordinals(recruitment, "Month")
    counted = (study_rows >= 0) & (months <= q)  # NaN compares False
    counted &= site_icbs == np.append(chosen_icbs, -2)[study_rows]
    per_quarter = np.bincount(
        study_rows[counted] * quarters + (np.maximum(months[counted], base).astype("int64") - base),
        weights=recruitment["Participants"].to_numpy(dtype="float64", na_value=0.0)[counted],
        minlength=len(chosen) * quarters,
    )
    to_date = np.cumsum(per_quarter.reshape(len(chosen), quarters), axis=1).astype("int64")
    opening, planned, closure = opening[chosen], planned[chosen], closure[chosen]
    # The per-ICB arithmetic, step for step, so that the on-track test agrees to the last bit.
    planned_days = (planned - opening) / np.timedelta64(1, "D") + 1
    # Each study's route among RTT_ROUTES (0, All, for a route that is neither: counted there only).
    routes = studies["StudyRoute"].to_numpy(dtype=object)[chosen]
    route_of = np.zeros(len(chosen), dtype="int64")
    for number, route in enumerate(STUDY_ROUTES, start=1):
        route_of[routes == route] = number
    cells = chosen_icbs * len(RTT_ROUTES) + route_of
    assessed = np.zeros((size, quarters, len(RTT_ROUTES)))
    on_track = np.zeros((size, quarters, len(RTT_ROUTES)))
    for column in range(quarters):
        end = np.datetime64(pd.Timestamp(Quarter.from_ordinal(base + column).end))
        open_at_end = (opening <= end) & (np.isnat(closure) | (closure > end))
        elapsed_days = (end - opening) / np.timedelta64(1, "D") + 1
        pct_time = 100.0 * elapsed_days / planned_days
        pct_target = 100.0 * to_date[:, column] / sample_size[chosen]
        with np.errstate(invalid="ignore", divide="ignore"):  # studies not open at the end: unused
            good = open_at_end & ((pct_target / pct_time - 1) >= 0)
        for counts, rows in ((assessed, open_at_end), (on_track, good)):
            counts[:, column, :] = np.bincount(cells[rows], minlength=size * len(RTT_ROUTES)).reshape(size, -1)
            counts[:, column, 0] = np.bincount(chosen_icbs[rows], minlength=size)
    assessed.flags.writeable = on_track.flags.writeable = False
    return assessed, on_track


def rtt_summary_all_icbs(
    data, quarter, icbs, quarters: int = RTT_QUARTERS, portfolio_only: bool = True
) -> pd.DataFrame:
    """The ``All`` rows of :func:`rtt_summary` for every ICB of ``icbs`` (:func:`_rtt_counts_all_icbs`),
    long: IcbCode, Quarter, StudiesAssessed, OnTrack, PctOnTrack (float64)."""
    quarter = parse(quarter)
    assessed, on_track = (c[:, :, 0] for c in _rtt_counts_all_icbs(data, quarter, icbs, quarters, portfolio_only))
    base = quarter.ordinal - quarters + 1
    columns = {"StudiesAssessed": assessed, "OnTrack": on_track, "PctOnTrack": kc.share(on_track, assessed)}
    return kc.long_histories(icbs, quarter, base, np.full(len(icbs), base), columns)


def rtt_summary_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`rtt_summary` of every ICB of ``icbs``, IcbCode first."""
    quarter = parse(quarter)
    quarters = RTT_QUARTERS  # as the pack takes rtt_summary
    assessed, on_track = _rtt_counts_all_icbs(data, quarter, icbs, quarters, True)
    ids = kc.quarter_ids(range(quarter.ordinal - quarters + 1, quarter.ordinal + 1))
    out = pd.DataFrame(
        {
            "IcbCode": np.repeat(np.asarray(list(icbs), dtype=object), quarters * len(RTT_ROUTES)),
            "Quarter": pd.array(np.tile(np.repeat(ids, len(RTT_ROUTES)), len(icbs)), dtype="string"),
            "StudyRoute": pd.array(np.tile(RTT_ROUTES, quarters * len(icbs)), dtype="string"),
            "StudiesAssessed": assessed.ravel().astype("int64"),
            "OnTrack": on_track.ravel().astype("int64"),
        }
    )
    out["PctOnTrack"] = kc.share(out["OnTrack"], out["StudiesAssessed"])
    return out


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "commercial_income": commercial_income_frames_all_icbs,
    "commercial_share_of_open_studies": commercial_share_of_open_studies_frames_all_icbs,
    "commercial_participants": commercial_participants_frames_all_icbs,
    "setup_time_summary": setup_time_summary_frames_all_icbs,
    "rtt_summary": rtt_summary_frames_all_icbs,
}
