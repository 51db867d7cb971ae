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


def _baseline_error(icb: str, baseline_quarters: Sequence[str]) -> BaselineError:
    """The error for an ICB with no open studies in the baseline (per ICB and all-ICB alike)."""
    return BaselineError(
        f"no open studies for ICB {icb} in the baseline quarters {', '.join(baseline_quarters)}: "
        "the studies table must include the studies open then (check ActualOpeningDate / "
        "ActualClosureToRecruitmentDate), or pass other baseline_quarters"
    )


def _baseline_ordinals(baseline_quarters: Sequence[str], quarter: Quarter) -> list[int]:
    """The baseline quarters' ordinals, sorted; errors for none, or one after the quarter reported."""
    baseline = sorted(parse(q).ordinal for q in baseline_quarters)
    if not baseline:
        raise ValueError("baseline_quarters is empty: give the quarters of the pre-Covid baseline, e.g. 2019-20-Q1..Q4")
    if baseline[-1] > quarter.ordinal:
        raise BaselineError(
            f"baseline quarter {Quarter.from_ordinal(baseline[-1])} is after the quarter reported {quarter}"
        )
    return baseline


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
    baseline = _baseline_ordinals(baseline_quarters, quarter)
    studies = kc.portfolio(kc.table(kc.icb_slice(data, icb), "studies"), portfolio_only)
    ordinals = kc.study_history_index(data, studies, quarter, first=baseline[0])
    counts = kc.open_matrix(studies, ordinals).sum(axis=0).astype("int64")
    series = pd.Series(counts, index=ordinals)
    baseline_mean = float(series.reindex(baseline).mean())
    if not baseline_mean > 0:
        raise _baseline_error(icb, baseline_quarters)
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


# ---------------------------------------------------------------------------------------------
# Every ICB at once (the KPIs' all_icbs): one pass over the whole folder, rows grouped by ICB
# ---------------------------------------------------------------------------------------------
def _portfolio_studies(data, icbs: Sequence[str], portfolio_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the studies table, the position in ``icbs`` of its lead organisation's ICB (-1
    when not one of them, or not on the portfolio), and the study's opening quarter ordinal."""
    studies = kc.require_table(data, "studies")
    positions = kc.row_icbs(studies, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
    if portfolio_only:
        positions = np.where(studies["NihrPortfolio"].to_numpy(dtype=bool), positions, -1)
    return positions, kc.frame_ordinals(studies, "ActualOpeningDate")


def _held_per_icb(positions: np.ndarray, first: np.ndarray, last: np.ndarray, size: int, span: int) -> np.ndarray:
    """Rows per ICB position (row) and column 0..span-1, each row counted in its columns ``first``
    .. ``last`` (inclusive, clipped to the span; none when NaN or ``first > last``; int64)."""
    first, last = np.maximum(first, 0), np.minimum(last, span - 1)
    chosen = (positions >= 0) & (first <= last)  # NaN compares False: never held
    rows = positions[chosen] * (span + 1)
    # +1 at the first column, -1 after the last, summed along the columns.
    steps = np.bincount(rows + first[chosen].astype("int64"), minlength=size * (span + 1))
    steps -= np.bincount(rows + last[chosen].astype("int64") + 1, minlength=size * (span + 1))
    return steps.reshape(size, span + 1).cumsum(axis=1)[:, :span]


def _closure_ordinals(studies: pd.DataFrame) -> np.ndarray:
    """Each study's closing quarter ordinal, inf when not closed (still open: kc.open_matrix)."""
    closed = kc.frame_ordinals(studies, "ActualClosureToRecruitmentDate")
    return np.where(np.isnan(closed), np.inf, closed)


def _open_study_counts(data, quarter: Quarter, icbs: Sequence[str], baseline: list[int]):
    """Portfolio studies open at any time in each quarter (:func:`open_studies`), every ICB of
    ``icbs`` at once: the first column's ordinal ``base``, each ICB's history start, the counts
    (ICB x quarter from ``base``, int64) and each ICB's baseline mean (0 where it has none)."""
    positions, opened = _portfolio_studies(data, icbs)
    starts = kc.study_history_starts(data, quarter, icbs, positions, opened, first=baseline[0])
    base, last = int(starts.min()) if len(starts) else quarter.ordinal, quarter.ordinal
    span = last - base + 1
    closed = _closure_ordinals(kc.require_table(data, "studies"))
    counts = _held_per_icb(positions, opened - base, closed - base, len(icbs), span)
    columns = [b - base for b in baseline]
    baseline_mean = counts[:, columns].astype("float64").sum(axis=1) / len(columns)
    return base, starts, counts, baseline_mean


def open_studies_all_icbs(
    data, quarter, icbs: Sequence[str], baseline_quarters: Sequence[str] = DEFAULT_BASELINE_QUARTERS
) -> pd.DataFrame:
    """:func:`open_studies` (portfolio studies) for every ICB of ``icbs``: long, columns IcbCode,
    Quarter, OpenStudies, BaselineMean, PctOfBaseline (float64), each ICB from its own first quarter."""
    quarter = parse(quarter)
    base, starts, counts, baseline_mean = _open_study_counts(
        data, quarter, icbs, _baseline_ordinals(baseline_quarters, quarter)
    )
    for icb, mean in zip(icbs, baseline_mean):
        if not mean > 0:
            raise _baseline_error(icb, baseline_quarters)
    return kc.long_histories(icbs, quarter, base, starts, _open_study_columns(counts, baseline_mean))


def _open_study_columns(counts: np.ndarray, baseline_mean: np.ndarray) -> dict[str, np.ndarray]:
    """OpenStudies, BaselineMean and PctOfBaseline per ICB and quarter, as :func:`open_studies`."""
    return {
        "OpenStudies": counts,
        "BaselineMean": np.repeat(baseline_mean[:, None], counts.shape[1], axis=1),
        "PctOfBaseline": 100.0 * counts / baseline_mean[:, None],
    }


def new_studies_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`new_studies` (portfolio studies) for every ICB of ``icbs``: long, columns IcbCode,
    Quarter, NewStudies (float64), each ICB from its own first quarter."""
    quarter = parse(quarter)
    positions, opened = _portfolio_studies(data, icbs)
    starts = kc.study_history_starts(data, quarter, icbs, positions, opened)
    base, last, size = int(starts.min()) if len(starts) else quarter.ordinal, quarter.ordinal, len(icbs)
    span = last - base + 1
    chosen = (positions >= 0) & (opened >= base) & (opened <= last)  # openings before the history dropped
    counts = np.bincount(
        positions[chosen] * span + (opened[chosen] - base).astype("int64"), minlength=size * span
    ).reshape(size, span)
    return kc.long_histories(icbs, quarter, base, starts, {"NewStudies": counts})


def _organisation_quarters(recruitment: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (organisation, quarter) pairs of the recruitment table's rows, computed once per
    table (the KPIs then work on thousands of pairs, not millions of rows): each pair's organisation
    code number and quarter ordinal, whether any of its rows recruited (participants > 0), and the
    distinct organisation codes. Rows with no organisation or month are left out."""
    cached = kc.frame_cache(recruitment)
    if cached is not None and "activity:organisation_quarters" in cached:
        return cached["activity:organisation_quarters"]
    codes, organisations = kc.codes_of(recruitment["OrganisationCode"])
    ordinals = kc.frame_ordinals(recruitment, "Month")
    dated = (codes >= 0) & ~np.isnan(ordinals)
    if dated.any():
        ordinals = ordinals[dated].astype("int64")
        low, span = int(ordinals.min()), int(ordinals.max() - ordinals.min()) + 1
        # One integer per (organisation, quarter) pair, so duplicates drop with a bincount.
        keys = codes[dated] * span + (ordinals - low)
        rows = np.bincount(keys, minlength=len(organisations) * span)
        recruited = np.bincount(keys[recruitment["Participants"].to_numpy()[dated] > 0], minlength=len(rows))
        present = np.flatnonzero(rows)
        result = (present // span, present % span + low, recruited[present] > 0, organisations)
    else:
        empty = np.array([], dtype="int64")
        result = (empty, empty, np.array([], dtype=bool), organisations)
    if cached is not None:
        cached["activity:organisation_quarters"] = result
    return result


def _recruiting_pairs(data, quarter: Quarter, icbs: Sequence[str]):
    """The recruitment table's (organisation, quarter) pairs up to ``quarter`` at the organisations
    of ``icbs`` (:func:`_organisation_quarters`): code number, quarter ordinal, recruited (the pairs
    of :func:`_recruiting`) and ICB position; then, per code number, the organisation's ICB
    position (-1 for none of ``icbs``) and its code."""
    codes, ordinals, recruited, organisations = _organisation_quarters(kc.require_table(data, "recruitment"))
    # Each organisation's ICB as icb_slice gives it: the organisations table's IcbCode of its code.
    icb_of, position = kc.icb_of_organisations(data), {icb: p for p, icb in enumerate(icbs)}
    organisation_icbs = np.fromiter(
        (position.get(icb_of.get(str(code)), -1) for code in organisations), dtype="int64", count=len(organisations)
    )
    pair_icbs = organisation_icbs[codes]
    keep = (pair_icbs >= 0) & (ordinals <= quarter.ordinal)
    return codes[keep], ordinals[keep], recruited[keep], pair_icbs[keep], organisation_icbs, organisations


def recruiting_organisations_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`recruiting_organisations` for every ICB of ``icbs``: long, columns IcbCode, Quarter,
    RecruitingOrganisations (float64), each ICB from its first quarter with participants recruited."""
    quarter = parse(quarter)
    last, size = quarter.ordinal, len(icbs)
    _, ordinals, recruited, pair_icbs, _, _ = _recruiting_pairs(data, quarter, icbs)
    ordinals, pair_icbs = ordinals[recruited], pair_icbs[recruited]
    starts = kc.first_ordinals(pair_icbs, ordinals.astype("float64"), size)
    starts = np.where(np.isnan(starts), last, starts).astype("int64")
    base = int(starts.min()) if size else last
    span = last - base + 1
    counts = np.bincount(pair_icbs * span + (ordinals - base), minlength=size * span).reshape(size, span)
    return kc.long_histories(icbs, quarter, base, starts, {"RecruitingOrganisations": counts})


def gp_practices_recruiting_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`gp_practices_recruiting` for every ICB of ``icbs``: long, columns IcbCode, Quarter,
    GpPractices, RecruitingGpPractices (NaN until the window is full), PctRecruiting (float64),
    each ICB from the first quarter of its own recruitment rows."""
    quarter = parse(quarter)
    last, size = quarter.ordinal, len(icbs)
    organisations = kc.require_table(data, "organisations")
    is_practice = np.asarray((organisations["OrganisationType"] == "gp_practice").fillna(False), dtype=bool)
    practice_icbs = np.where(is_practice, kc.row_icbs(organisations, "IcbCode", icbs), -1)
    practices = kc.per_icb(practice_icbs, None, size)
    listed = {
        (int(p), code)
        for p, code in zip(practice_icbs, organisations["OrganisationCode"].astype(str).to_numpy())
        if p >= 0
    }
    # Each ICB's history starts at its first recruitment row (any participants), up to the quarter.
    codes, ordinals, recruited, pair_icbs, organisation_icbs, organisation_codes = _recruiting_pairs(
        data, quarter, icbs
    )
    starts = kc.first_ordinals(pair_icbs, ordinals.astype("float64"), size)
    starts = np.where(np.isnan(starts), last, starts).astype("int64")
    base = int(starts.min()) if size else last
    span = last - base + 1
    # The recruiting pairs of organisations listed as gp_practice in their own ICB.
    is_listed = np.fromiter(
        ((int(p), str(c)) in listed for p, c in zip(organisation_icbs, organisation_codes)),
        dtype=bool,
        count=len(organisation_codes),
    )
    chosen = recruited & is_listed[codes]
    codes, ordinals = codes[chosen], ordinals[chosen]
    # A practice recruiting in quarter o counts in the windows ending o .. o+3, once per window.
    window_codes = np.repeat(codes, kc.ROLLING_QUARTERS)
    window_ends = (ordinals[:, None] + np.arange(kc.ROLLING_QUARTERS)).ravel()
    inside = window_ends <= last
    held = np.flatnonzero(
        np.bincount(
            window_codes[inside] * span + (window_ends[inside] - base), minlength=len(organisation_codes) * span
        )
    )
    recruiting = np.bincount(organisation_icbs[held // span] * span + held % span, minlength=size * span)
    recruiting = recruiting.reshape(size, span).astype("float64")
    full = (base + np.arange(span))[None, :] >= starts[:, None] + kc.ROLLING_QUARTERS - 1
    recruiting = np.where(full, recruiting, np.nan)
    return kc.long_histories(
        icbs,
        quarter,
        base,
        starts,
        {
            "GpPractices": np.repeat(practices[:, None], span, axis=1),
            "RecruitingGpPractices": recruiting,
            "PctRecruiting": kc.share(recruiting, practices[:, None]),
        },
    )


# ---------------------------------------------------------------------------------------------
# Every ICB's detail frames at once (helpers.icb_frames): the per-ICB rules' columns and dtypes
# ---------------------------------------------------------------------------------------------
def _as_frames(long: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """An all-ICB long history (kc.long_histories: float64) with the per-ICB rule's dtypes
    (kc.history_frame's ``string`` Quarter; counts as int64)."""
    return long.astype({"Quarter": "string", **dtypes})


def open_studies_frames_all_icbs(
    data, quarter, icbs: Sequence[str], baseline_quarters: Sequence[str] = DEFAULT_BASELINE_QUARTERS
) -> pd.DataFrame:
    """:func:`open_studies` for every ICB of ``icbs`` with open studies in the baseline (the others raise)."""
    quarter = parse(quarter)
    base, starts, counts, baseline_mean = _open_study_counts(
        data, quarter, icbs, _baseline_ordinals(baseline_quarters, quarter)
    )
    kept = np.flatnonzero(baseline_mean > 0)
    counts, baseline_mean = counts[kept], baseline_mean[kept]
    columns = _open_study_columns(counts, baseline_mean)
    columns["OpenAtQuarterEnd"] = _open_at_quarter_ends_per_icb(data, quarter, icbs, base)[kept]
    long = kc.long_histories([icbs[k] for k in kept], quarter, base, starts[kept], columns)
    return _as_frames(long, {"OpenStudies": "int64", "OpenAtQuarterEnd": "int64"})


def _open_at_quarter_ends_per_icb(data, quarter: Quarter, icbs: Sequence[str], base: int) -> np.ndarray:
    """:func:`_open_at_quarter_ends` per ICB of ``icbs`` (row) and quarter from ``base`` (column)."""
    ends = np.array([np.datetime64(Quarter.from_ordinal(o).end, "ns") for o in range(base, quarter.ordinal + 1)])
    studies = kc.require_table(data, "studies")
    positions, _ = _portfolio_studies(data, icbs)
    opened = studies["ActualOpeningDate"].to_numpy(dtype="datetime64[ns]")
    closed = studies["ActualClosureToRecruitmentDate"].to_numpy(dtype="datetime64[ns]")
    # Open on the ends from the first on or after its opening to the last before its closure;
    # dates compared as the per-ICB rule does (an unopened study never, one not closed to the last).
    first = np.where(np.isnat(opened), len(ends), np.searchsorted(ends, opened, side="left"))
    last = np.where(np.isnat(closed), len(ends), np.searchsorted(ends, closed, side="left")) - 1
    return _held_per_icb(positions, first, last, len(icbs), len(ends))


def new_studies_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`new_studies` for every ICB of ``icbs``."""
    return _as_frames(new_studies_all_icbs(data, quarter, icbs), {"NewStudies": "int64"})


def recruiting_organisations_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`recruiting_organisations` for every ICB of ``icbs``."""
    long = recruiting_organisations_all_icbs(data, quarter, icbs)
    return _as_frames(long, {"RecruitingOrganisations": "int64"})


def gp_practices_recruiting_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`gp_practices_recruiting` for every ICB of ``icbs``."""
    # RecruitingGpPractices stays float64: every ICB's first quarter has no full window (NaN).
    return _as_frames(gp_practices_recruiting_all_icbs(data, quarter, icbs), {"GpPractices": "int64"})


def _open_by_frames_all_icbs(data, quarter, icbs: Sequence[str], column: str) -> pd.DataFrame:
    """:func:`_open_by` (portfolio studies open in the quarter by ``column``) for every ICB of
    ``icbs`` with any (an ICB with none has an empty frame: left to its pack)."""
    quarter = parse(quarter)
    studies = kc.require_table(data, "studies")
    positions, opened = _portfolio_studies(data, icbs)
    # Open at any time in the quarter, as kc.open_in (NaN opening compares False: not open).
    is_open = (positions >= 0) & (opened <= quarter.ordinal) & (_closure_ordinals(studies) >= quarter.ordinal)
    codes, labels = kc.codes_of(studies[column])
    chosen = is_open & (codes >= 0)  # no label: left out, as the groupby leaves it
    cells = np.bincount(positions[chosen] * len(labels) + codes[chosen], minlength=len(icbs) * len(labels))
    present = np.flatnonzero(cells)
    rows, label_codes, counts = present // max(len(labels), 1), present % max(len(labels), 1), cells[present]
    # Each ICB's rows by count (descending), then label, as the per-ICB sort.
    label_rank = np.argsort(np.argsort(labels, kind="stable"), kind="stable")
    order = np.lexsort((label_rank[label_codes], -counts, rows))
    rows, label_codes, counts = rows[order], label_codes[order], counts[order].astype("int64")
    totals = np.bincount(rows, weights=counts, minlength=len(icbs))
    out = pd.DataFrame(
        {
            "IcbCode": np.asarray(list(icbs), dtype=object)[rows],
            column: pd.array(labels[label_codes], dtype=studies[column].dtype),
            "OpenStudies": counts,
            "Pct": kc.share(counts, totals[rows]),
        }
    )
    out.insert(1, "Quarter", quarter.id)
    return out


def open_studies_by_care_setting_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`open_studies_by_care_setting` for every ICB of ``icbs`` with studies open in the quarter."""
    return _open_by_frames_all_icbs(data, quarter, icbs, "CareSetting")


def open_studies_by_specialty_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`open_studies_by_specialty` for every ICB of ``icbs`` with studies open in the quarter."""
    return _open_by_frames_all_icbs(data, quarter, icbs, "ManagingSpecialty")


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "open_studies": open_studies_frames_all_icbs,
    "open_studies_by_care_setting": open_studies_by_care_setting_frames_all_icbs,
    "open_studies_by_specialty": open_studies_by_specialty_frames_all_icbs,
    "new_studies": new_studies_frames_all_icbs,
    "recruiting_organisations": recruiting_organisations_frames_all_icbs,
    "gp_practices_recruiting": gp_practices_recruiting_frames_all_icbs,
}
