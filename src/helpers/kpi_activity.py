"""Research activity KPIs: open NIHR portfolio studies against the pre-Covid baseline, new
studies, open studies by care setting and specialty, recruiting organisations, GP practices
recruiting. Counts of studies and organisations are not disclosure-controlled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.quarters import BASELINE_PERIOD, Quarter, parse, parse_range

# Pre-Covid baseline: the four quarters of 2019/20 (the one place it is set; a build may pass another).
DEFAULT_BASELINE_QUARTERS = tuple(q.id for q in parse_range(BASELINE_PERIOD))


class BaselineError(ValueError):
    """The baseline period has no open studies, so no percentage of it can be given."""


def open_studies(
    data, quarter, icb: str, baseline_quarters: Sequence[str] = DEFAULT_BASELINE_QUARTERS, portfolio_only: bool = True
) -> pd.DataFrame:
    """NIHR portfolio studies open to recruitment at any time in each quarter, and as % of the
    baseline (mean of the ``baseline_quarters``' open counts), with the count still open on the
    quarter's last day beside it.

    Open at any time in the quarter: opened by its last day and not closed to recruitment before
    its first day (:func:`helpers.kpi_common.open_matrix`; the headline and the baseline use this).
    Open at the quarter's end: opened by its last day and not closed on or before it (as
    :func:`helpers.kpi_common.open_at_end`), so a study closing during the quarter counts in the
    first and not in the second.
    History from the first quarter of the supplied data (:func:`helpers.kpi_common.history_start`),
    or the baseline's first quarter when that is earlier.
    Columns: Quarter, OpenStudies, BaselineMean, PctOfBaseline, OpenAtQuarterEnd.
    """
    quarter = parse(quarter)
    baseline = sorted(parse(q).ordinal for q in baseline_quarters)
    if not baseline:
        raise ValueError("baseline_quarters is empty: give the quarters of the pre-Covid baseline, e.g. 2019-20-Q1..Q4")
    if baseline[-1] > quarter.ordinal:
        raise BaselineError(
            f"baseline quarter {Quarter.from_ordinal(baseline[-1])} is after the quarter reported {quarter}"
        )
    studies = kc.portfolio(kc.table(kc.icb_slice(data, icb), "studies"), portfolio_only)
    ordinals = kc.study_history_index(data, studies, quarter, first=baseline[0])
    counts = kc.open_matrix(studies, ordinals).sum(axis=0).astype("int64")
    series = pd.Series(counts, index=ordinals)
    baseline_mean = float(series.reindex(baseline).mean())
    if not baseline_mean > 0:
        raise BaselineError(
            f"no open studies for ICB {icb} in the baseline quarters {', '.join(baseline_quarters)}: "
            "the studies table must include the studies open then (check ActualOpeningDate / "
            "ActualClosureToRecruitmentDate), or pass other baseline_quarters"
        )
    out = kc.history_frame(series, "OpenStudies")
    out["BaselineMean"] = baseline_mean
    out["PctOfBaseline"] = 100.0 * out["OpenStudies"] / baseline_mean
    out["OpenAtQuarterEnd"] = _open_at_quarter_ends(studies, ordinals)
    return out


def _open_at_quarter_ends(studies: pd.DataFrame, ordinals: np.ndarray) -> np.ndarray:
    """Studies open on each quarter's last day (opened by it, not closed on or before it)."""
    ends = np.array([np.datetime64(Quarter.from_ordinal(int(o)).end, "ns") for o in ordinals])
    opened = studies["ActualOpeningDate"].to_numpy(dtype="datetime64[ns]")
    closed = studies["ActualClosureToRecruitmentDate"].to_numpy(dtype="datetime64[ns]")
    # NaT compares False: an unopened study is never open; a study not closed is open.
    is_open = (opened[:, None] <= ends[None, :]) & (np.isnat(closed)[:, None] | (closed[:, None] > ends[None, :]))
    return is_open.sum(axis=0).astype("int64")


def new_studies(data, quarter, icb: str, portfolio_only: bool = True) -> pd.DataFrame:
    """Studies opened (``ActualOpeningDate``) in each quarter, from the first quarter of the
    supplied data (:func:`helpers.kpi_common.study_history_index`). Columns: Quarter, NewStudies."""
    quarter = parse(quarter)
    studies = kc.portfolio(kc.table(kc.icb_slice(data, icb), "studies"), portfolio_only)
    ordinals = kc.study_history_index(data, studies, quarter)
    counts = kc.by_quarter(
        studies.assign(_one=1), "_one", quarter, date_column="ActualOpeningDate", first=int(ordinals[0])
    )
    counts = counts.reindex(ordinals, fill_value=0.0).astype("int64")  # openings before the history dropped
    return kc.history_frame(counts, "NewStudies")


def _open_by(data, quarter, icb: str, column: str, portfolio_only: bool) -> pd.DataFrame:
    quarter = parse(quarter)
    studies = kc.portfolio(kc.table(kc.icb_slice(data, icb), "studies"), portfolio_only)
    open_now = kc.open_in(studies, quarter)
    counts = open_now.groupby(column, observed=True).size().rename("OpenStudies").reset_index()
    counts = counts.sort_values(["OpenStudies", column], ascending=[False, True], ignore_index=True)
    counts["OpenStudies"] = counts["OpenStudies"].astype("int64")
    counts["Pct"] = kc.share(counts["OpenStudies"], counts["OpenStudies"].sum())
    counts.insert(0, "Quarter", quarter.id)
    return counts


def open_studies_by_care_setting(data, quarter, icb: str, portfolio_only: bool = True) -> pd.DataFrame:
    """Studies open in the quarter by care setting. Columns: Quarter, CareSetting, OpenStudies, Pct."""
    return _open_by(data, quarter, icb, "CareSetting", portfolio_only)


def open_studies_by_specialty(data, quarter, icb: str, portfolio_only: bool = True) -> pd.DataFrame:
    """Studies open in the quarter by managing specialty. Columns: Quarter, ManagingSpecialty, OpenStudies, Pct."""
    return _open_by(data, quarter, icb, "ManagingSpecialty", portfolio_only)


def _recruiting(recruitment: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """Distinct (OrganisationCode, quarter ordinal) pairs with participants recruited, up to ``quarter``."""
    ordinals = kc.frame_ordinals(recruitment, "Month")
    keep = (recruitment["Participants"].to_numpy() > 0) & (ordinals <= quarter.ordinal)
    codes, organisations = kc.codes_of(recruitment["OrganisationCode"])
    if not keep.any():
        return pd.DataFrame({"OrganisationCode": np.array([], dtype=object), "Ordinal": np.array([], dtype="int64")})
    # One integer per (organisation, quarter) pair, so duplicates drop with a bincount, not pandas.
    ordinals = ordinals[keep].astype("int64")
    first = int(ordinals.min())
    span = quarter.ordinal - first + 1
    present = np.flatnonzero(np.bincount(codes[keep] * span + (ordinals - first), minlength=len(organisations) * span))
    return pd.DataFrame({"OrganisationCode": organisations[present // span], "Ordinal": present % span + first})


def recruiting_organisations(data, quarter, icb: str) -> pd.DataFrame:
    """Organisations of the ICB that recruited at least one participant in each quarter.

    Columns: Quarter, RecruitingOrganisations.
    """
    quarter = parse(quarter)
    pairs = _recruiting(kc.table(kc.icb_slice(data, icb), "recruitment"), quarter)
    first = int(pairs["Ordinal"].min()) if len(pairs) else quarter.ordinal
    counts = pairs.groupby("Ordinal").size().reindex(kc.history_index(first, quarter), fill_value=0)
    return kc.history_frame(counts.astype("int64"), "RecruitingOrganisations")


def gp_practices_recruiting(data, quarter, icb: str) -> pd.DataFrame:
    """Share of the ICB's GP practices that recruited in the rolling 12 months to each quarter.

    Rolling 12 months, not the quarter, because practices recruit in bursts: a practice that
    recruited in any of the four quarters counts. The denominator is the ``gp_practice`` rows of
    the organisations table (the practices the analyst lists). History starts at the first quarter
    of the recruitment table; windows reaching before it are NaN (as for rolling participants).
    Columns: Quarter, GpPractices, RecruitingGpPractices, PctRecruiting.
    """
    quarter = parse(quarter)
    sliced = kc.icb_slice(data, icb)
    organisations = kc.table(sliced, "organisations")
    practices = organisations.loc[organisations["OrganisationType"] == "gp_practice", "OrganisationCode"]
    recruitment = kc.table(sliced, "recruitment")
    months = kc.frame_ordinals(recruitment, "Month")
    months = months[months <= quarter.ordinal]
    first = int(months.min()) if len(months) else quarter.ordinal
    ordinals = kc.history_index(first, quarter)
    pairs = _recruiting(recruitment, quarter)
    pairs = pairs[pairs["OrganisationCode"].isin(set(practices))]
    # A practice recruiting in quarter o counts in the windows ending o .. o+3.
    spread = pd.DataFrame(
        {
            "OrganisationCode": np.repeat(pairs["OrganisationCode"].to_numpy(), kc.ROLLING_QUARTERS),
            "Ordinal": (pairs["Ordinal"].to_numpy()[:, None] + np.arange(kc.ROLLING_QUARTERS)).ravel(),
        }
    ).drop_duplicates()
    recruiting = spread.groupby("Ordinal").size().reindex(ordinals, fill_value=0).astype("Int64")
    recruiting[ordinals < first + kc.ROLLING_QUARTERS - 1] = pd.NA
    out = kc.history_frame(recruiting, "RecruitingGpPractices")
    out.insert(1, "GpPractices", int(len(practices)))
    out["PctRecruiting"] = kc.share(out["RecruitingGpPractices"].astype("float64"), out["GpPractices"])
    return out
