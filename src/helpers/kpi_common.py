"""Shared pieces of the KPI modules: the ICB's slice of the data, quarter arithmetic on columns,
"open in quarter", rolling windows and disclosure of people counts. Each rule lives here once.

Every KPI function has the signature ``f(data, quarter, icb, **params) -> DataFrame``, where
``data`` is a :class:`helpers.loading.Data` (one typed DataFrame attribute per table of
``docs/data_contract.md``, ``None`` for a table not loaded), ``quarter`` the quarter reported (any
form :func:`helpers.quarters.parse` reads) and ``icb`` an ICB ODS code. Tables hold history up to
the quarter reported; rows dated after it are ignored. History frames have one row per quarter
with the quarter id (``2026-27-Q2``) in column ``Quarter``.

Disclosure convention: every function whose output counts people takes ``disclosed=True`` by
default and then returns published figures (:mod:`helpers.disclosure`: ``"*"`` for 1-7, others
rounded to 5, shares from the rounded figures; a breakdown gets a protected ``Total`` row, or
``Total (known)`` when an unknown row is left out of the shares). ``disclosed=False`` gives exact
counts, for calculation only. Counts of studies and organisations are never suppressed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from helpers.contract import CONTRACT, PERIODIC_TABLES, TABLES
from helpers.quarters import Quarter, parse

# How each table reaches its ICB: its own IcbCode column, or an organisation code.
_ICB_COLUMN_TABLES = ("organisations", "recruitment_imd", "recruitment_ethnicity", "engagement", "deliverables")
_ORGANISATION_COLUMN = {
    "studies": "LeadOrganisationCode",  # a study belongs to the ICB of its lead organisation
    "recruitment": "OrganisationCode",  # recruitment counts where the participant was recruited
    "finance": "OrganisationCode",
    "workforce": "OrganisationCode",
    "innovations": "LeadOrganisationCode",
}
# Tables held with categorical text in the ICB slice (see _categorical_codes): the big one.
_CATEGORICAL_TABLES = ("recruitment",)
ROLLING_QUARTERS = 4  # rolling 12 months = the quarter reported and the three before it


class MissingTableError(ValueError):
    """A KPI needs a table that was not loaded."""


# ---------------------------------------------------------------------------------------------
# Quarters on columns
# ---------------------------------------------------------------------------------------------
def quarter_ordinals(dates: pd.Series) -> np.ndarray:
    """Vectorised :attr:`Quarter.ordinal` of each date (float, NaN for NaT)."""
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    # Months since January 1970 -> year * 12 + month - 1; ordinal = (year * 12 + month - 4) // 3.
    months = values.astype("datetime64[M]").astype("int64") + 1970 * 12 - 3
    return np.where(np.isnat(values), np.nan, np.floor_divide(months, 3).astype("float64"))


def quarter_id_ordinals(ids: pd.Series) -> np.ndarray:
    """Vectorised :attr:`Quarter.ordinal` of quarter ids like ``2026-27-Q2``."""
    # Each distinct id parsed once; integer codes pick them (Series.map on arrow text is slow).
    codes, uniques = codes_of(ids)
    lookup = np.append(np.array([parse(u).ordinal for u in uniques], dtype="float64"), np.nan)
    return lookup[codes]


def quarter_ids(ordinals: Iterable[int]) -> list[str]:
    """Quarter ids for ordinals."""
    return [Quarter.from_ordinal(int(o)).id for o in ordinals]


def history_index(first: int, quarter: Quarter) -> np.ndarray:
    """Ordinals from ``first`` to ``quarter`` inclusive (just ``quarter`` when ``first`` is later)."""
    first = min(int(first), quarter.ordinal)
    return np.arange(first, quarter.ordinal + 1)


def rolling_sum(values: pd.Series, quarters: int = ROLLING_QUARTERS) -> pd.Series:
    """Rolling sum over ``quarters`` consecutive quarters; NaN until a full window exists."""
    return values.rolling(quarters, min_periods=quarters).sum()


def window_ordinals(quarter: Quarter, window: str) -> tuple[int, int]:
    """First and last ordinal of ``window``: ``quarter`` or ``rolling_12_months``."""
    if window == "quarter":
        return quarter.ordinal, quarter.ordinal
    if window == "rolling_12_months":
        return quarter.ordinal - ROLLING_QUARTERS + 1, quarter.ordinal
    raise ValueError(f"window must be 'quarter' or 'rolling_12_months', got {window!r}")


# ---------------------------------------------------------------------------------------------
# The ICB's slice of the data (filtered once per data object and ICB, then cached)
# ---------------------------------------------------------------------------------------------
_row_groups: dict[int, tuple[weakref.ref, dict[str, np.ndarray]]] = {}
_slices: dict[int, tuple[weakref.ref, dict[str, SimpleNamespace]]] = {}


def _weak_cache(cache: dict, owner: Any) -> dict | None:
    """The per-object entry of ``cache``, dropped when ``owner`` is garbage collected."""
    key = id(owner)
    entry = cache.get(key)
    if entry is not None and entry[0]() is owner:
        return entry[1]
    try:
        ref = weakref.ref(owner, lambda _r, key=key, cache=cache: cache.pop(key, None))
    except TypeError:  # objects without weak references are simply not cached
        return None
    cache[key] = (ref, {})
    return cache[key][1]


def remembered(data: Any, key: tuple, compute: Callable[[], Any], tables: tuple[str, ...] = ()) -> Any:
    """``compute()`` once per data object and ``key``, kept with ``data`` (dropped with it): what
    several all-ICB rules derive from the same rows (an ICB's history start, a pass's sums).
    ``tables``: the tables of ``data`` it is derived from; one replaced since gives a fresh value."""
    cached = _weak_cache(_slices, data)
    if cached is None:
        return compute()
    current = tuple(getattr(data, name, None) for name in tables)
    hit = cached.get(key)
    if hit is not None and all((ref() if ref else None) is table for ref, table in zip(hit[0], current)):
        return hit[1]
    value = compute()
    cached[key] = (tuple(weakref.ref(t) if t is not None else None for t in current), value)
    return value


def frame_cache(frame: pd.DataFrame) -> dict | None:
    """A memo kept with ``frame`` (dropped with it): for what a helper derives from a table once,
    e.g. its row-to-ICB index; None for an object that cannot be referenced weakly."""
    return _weak_cache(_row_groups, frame)


def frame_ordinals(frame: pd.DataFrame, column: str) -> np.ndarray:
    """:func:`quarter_ordinals` of ``frame[column]``, computed once per frame (read-only array):
    the KPIs ask for the same ICB table's months many times."""
    cached = _weak_cache(_row_groups, frame)
    key = f"ordinals:{column}"
    if cached is not None and key in cached:
        return cached[key]
    ordinals = quarter_ordinals(frame[column])
    ordinals.flags.writeable = False
    if cached is not None:
        cached[key] = ordinals
    return ordinals


def frame_quarter_ordinals(frame: pd.DataFrame, column: str) -> np.ndarray:
    """:func:`quarter_id_ordinals` of ``frame[column]`` (quarter ids), each distinct id parsed once
    and the result computed once per frame (read-only array), as :func:`frame_ordinals` for months."""
    cached = _weak_cache(_row_groups, frame)
    key = f"quarter_ordinals:{column}"
    if cached is not None and key in cached:
        return cached[key]
    codes, uniques = codes_of(frame[column])
    ordinals = np.append([parse(u).ordinal for u in uniques], np.nan).astype("float64")[codes]
    ordinals.flags.writeable = False
    if cached is not None:
        cached[key] = ordinals
    return ordinals


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row (-1 for missing) and the distinct values; pyarrow's dictionary
    encoding when the column is arrow-backed (about twice as fast as pandas on millions of rows)."""
    chunked = getattr(values.array, "_pa_array", None)
    if chunked is not None:
        encoded = chunked.combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        codes = (
            np.where(np.isnan(codes), -1, codes).astype("int64") if codes.dtype.kind == "f" else codes.astype("int64")
        )
        return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype("int64"), np.asarray(uniques, dtype=object)


def _icb_index(frame: pd.DataFrame, column: str, icb_of: dict[str, str] | None) -> tuple[np.ndarray, dict[str, int]]:
    """Per row, a small integer standing for the row's ICB (cached per frame), and ICB -> integer.

    ``column`` holds the ICB code itself (``icb_of`` None) or an organisation code mapped to its ICB
    through ``icb_of``. Each distinct code is mapped once, so this is one pass over the table.
    """
    cached = _weak_cache(_row_groups, frame)
    if cached is not None and column in cached:
        return cached[column]
    codes, uniques = _codes(frame[column])
    icbs = uniques if icb_of is None else np.asarray([icb_of.get(u) for u in uniques], dtype=object)
    icb_codes_found = sorted({str(i) for i in icbs if i is not None and i == i})
    number = {icb: n for n, icb in enumerate(icb_codes_found)}
    per_unique = np.asarray([number.get(str(i), -1) if i is not None else -1 for i in icbs] + [-1], dtype="int16")
    result = (per_unique[codes], number)  # code -1 (missing) picks the trailing -1
    if cached is not None:
        cached[column] = result
    return result


def _categorical_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as categoricals (cached per frame): taking rows of integer
    codes is many times faster than of arrow strings, which matters for the recruitment table's
    millions of rows. Values and comparisons are unchanged."""
    cached = _weak_cache(_row_groups, frame)
    if cached is not None and "categorical" in cached:
        return cached["categorical"]
    out = frame.copy(deep=False)
    for column in frame.columns:
        if frame[column].dtype == "string" or frame[column].dtype == object or str(frame[column].dtype) == "str":
            codes, uniques = _codes(frame[column])
            out[column] = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=frame[column].dtype))
    if cached is not None:
        cached["categorical"] = out
    return out


def _rows_of(
    frame: pd.DataFrame, column: str, icb: str, icb_of: dict[str, str] | None = None, categorical: bool = False
) -> pd.DataFrame:
    index, number = _icb_index(frame, column, icb_of)
    source = _categorical_codes(frame) if categorical else frame
    if icb not in number:
        return source.iloc[0:0]
    return source.take(np.flatnonzero(index == number[icb]))


def icb_slice(data: Any, icb: str) -> SimpleNamespace:
    """Every loaded table filtered to ``icb`` (tables not loaded stay ``None``).

    organisations, recruitment_imd, recruitment_ethnicity, engagement and deliverables by their
    ``IcbCode``; studies and innovations by their lead organisation's ICB; recruitment, finance and
    workforce by the organisation's ICB; innovation_benefits by its innovation. The row-to-ICB
    index of each table is built once per data object, so slicing 42 ICBs costs one pass per table.
    """
    cached = _weak_cache(_slices, data)
    if cached is not None and icb in cached:
        return cached[icb]
    organisations = getattr(data, "organisations", None)
    out = SimpleNamespace(**{t: None for t in TABLES})
    for name in _ICB_COLUMN_TABLES:
        frame = getattr(data, name, None)
        if frame is not None:
            setattr(out, name, _rows_of(frame, "IcbCode", icb))
    icb_of = None
    for name, column in _ORGANISATION_COLUMN.items():
        frame = getattr(data, name, None)
        if frame is None:
            continue
        if organisations is None:
            raise MissingTableError(
                f"table {name} needs the organisations table to be filtered to an ICB: "
                f"load it too (load_data(..., tables=[..., 'organisations']))"
            )
        if icb_of is None:
            icb_of = dict(zip(organisations["OrganisationCode"].astype(str), organisations["IcbCode"].astype(str)))
        setattr(out, name, _rows_of(frame, column, icb, icb_of, categorical=name in _CATEGORICAL_TABLES))
    benefits = getattr(data, "innovation_benefits", None)
    if benefits is not None:
        innovations = out.innovations
        ids = innovations["InnovationId"].unique() if innovations is not None else []
        out.innovation_benefits = benefits[benefits["InnovationId"].isin(ids)]
    if cached is not None:
        cached[icb] = out
    return out


def table(sliced: SimpleNamespace, name: str) -> pd.DataFrame:
    """A table of the ICB's slice, or a clear error when it was not loaded."""
    frame = getattr(sliced, name, None)
    if frame is None:
        raise MissingTableError(f"this KPI needs the {name} table: load it with load_data(..., tables=[..., '{name}'])")
    return frame


def history_start(data: Any, quarter: Quarter) -> int | None:
    """Ordinal of the first quarter of the supplied history, or None when no periodic table is loaded.

    Rule: the earliest month or quarter in any loaded periodic table (recruitment, finance,
    workforce, ... :data:`helpers.contract.PERIODIC_TABLES`), over the whole data, not one ICB, so
    every ICB's history has the same length; rows after ``quarter`` ignored. Histories of study
    counts start here, not at the earliest study opening: studies open long before the data begin
    would otherwise add a ramp of quarters that nothing else covers (and SPC would flag it).
    """
    firsts = []
    for name in PERIODIC_TABLES:
        frame = getattr(data, name, None)
        if frame is None or not len(frame):
            continue
        for column in CONTRACT[name].month_columns:
            firsts.append(frame_ordinals(frame, column))
        for column in CONTRACT[name].quarter_columns:
            firsts.append(quarter_id_ordinals(frame[column]))
    ordinals = np.concatenate(firsts) if firsts else np.array([])
    ordinals = ordinals[ordinals <= quarter.ordinal]  # NaN compares False: dropped too
    return int(ordinals.min()) if len(ordinals) else None


def study_history_index(data: Any, studies: pd.DataFrame, quarter: Quarter, first: int | None = None) -> np.ndarray:
    """Quarter ordinals of a study-count history: from :func:`history_start` (or, with no periodic
    table loaded, the earliest ``ActualOpeningDate``; or ``quarter`` when no study opened) to
    ``quarter``, reaching back to ``first`` when that is earlier (e.g. a baseline quarter)."""
    start = history_start(data, quarter)
    if start is None:
        opened = frame_ordinals(studies, "ActualOpeningDate")
        start = int(np.nanmin(opened)) if np.isfinite(opened).any() else quarter.ordinal
    if first is not None:
        start = min(start, int(first))
    return history_index(start, quarter)


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------
def portfolio(studies: pd.DataFrame, portfolio_only: bool = True) -> pd.DataFrame:
    """NIHR portfolio studies only (every study when ``portfolio_only`` is False)."""
    return studies[studies["NihrPortfolio"].to_numpy(dtype=bool)] if portfolio_only else studies


def open_matrix(studies: pd.DataFrame, ordinals: np.ndarray) -> np.ndarray:
    """Boolean (studies x quarters): open at any time in the quarter.

    Open in a quarter = opened on or before its last day and not closed to recruitment before its
    first day. A study with no ``ActualOpeningDate`` has not opened.
    """
    opened = frame_ordinals(studies, "ActualOpeningDate")
    closed = frame_ordinals(studies, "ActualClosureToRecruitmentDate")
    closed = np.where(np.isnan(closed), np.inf, closed)  # still open
    q = ordinals[None, :]
    # Opened by the quarter's end <=> opening quarter <= q; not closed before q's start <=> closing quarter >= q.
    return (opened[:, None] <= q) & (closed[:, None] >= q)


def open_in(studies: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """Studies open at any time in ``quarter``."""
    mask = open_matrix(studies, np.array([quarter.ordinal]))[:, 0]
    return studies[mask]


def open_at_end(studies: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """Studies open on the quarter's last day (opened by then, not closed on or before it)."""
    end = pd.Timestamp(quarter.end)
    opened = studies["ActualOpeningDate"] <= end
    closure = studies["ActualClosureToRecruitmentDate"]
    return studies[opened & (closure.isna() | (closure > end))]


# ---------------------------------------------------------------------------------------------
# Monthly and quarterly tables
# ---------------------------------------------------------------------------------------------
def by_quarter(
    frame: pd.DataFrame, value: str, quarter: Quarter, date_column: str = "Month", first: int | None = None
) -> pd.Series:
    """Sum of ``value`` per quarter ordinal, zero-filled, from the first quarter with data (or
    ``first`` when earlier) to ``quarter``; rows after ``quarter`` ignored."""
    if date_column == "Quarter":
        ordinals = quarter_id_ordinals(frame["Quarter"])
    else:
        ordinals = frame_ordinals(frame, date_column)
    keep = ordinals <= quarter.ordinal
    values = frame[value].to_numpy()[keep]
    ordinals = ordinals[keep].astype("int64")
    start = int(ordinals.min()) if len(ordinals) else quarter.ordinal
    start = min(start, first) if first is not None else start
    index = history_index(start, quarter)
    sums = pd.Series(values, dtype="float64").groupby(ordinals).sum()
    return sums.reindex(index, fill_value=0.0)


def history_frame(series: pd.Series, name: str) -> pd.DataFrame:
    """Quarter-ordinal indexed series -> ``Quarter`` id column plus ``name``."""
    return pd.DataFrame({"Quarter": pd.array(quarter_ids(series.index), dtype="string"), name: series.to_numpy()})


def share(numerator, denominator):
    """numerator / denominator as a percentage, NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 100.0 * numerator / denominator, np.nan)


# ---------------------------------------------------------------------------------------------
# Disclosure control of people counts (helpers.disclosure), applied inside the KPI functions
# ---------------------------------------------------------------------------------------------
TOTAL = "Total"
TOTAL_KNOWN = "Total (known)"


def published_counts(frame: pd.DataFrame, columns: list[str], rows=None) -> pd.DataFrame:
    """``frame`` with each people-count column disclosed cell by cell (``"*"`` for 1-7, others
    rounded to 5; missing stays missing). For series with no published total across the rows,
    e.g. one value per quarter. ``rows`` (bool mask) limits it to the rows that count people."""
    from helpers.disclosure import protect

    out = frame.copy()
    mask = np.ones(len(frame), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    for column in columns:
        present = mask & frame[column].notna().to_numpy()
        shown = pd.Series(frame[column].astype(object).to_numpy(), index=frame.index, dtype=object)
        if present.any():
            part = frame.loc[present, [column]]
            shown[present] = protect(part, [column]).display[column].to_numpy()
        out[column] = shown
    return out


def published_breakdown(
    frame: pd.DataFrame,
    columns: list[str],
    label_column: str,
    shares: dict[str, str] | None = None,
    unknown_label: str | None = None,
) -> pd.DataFrame:
    """A breakdown of people-count ``columns`` by ``label_column``, disclosed with a total row
    added (secondary suppression keeps suppressed cells unrecoverable from it), and each share
    column of ``shares`` (share column -> count column) recomputed from the rounded figures.

    With ``unknown_label``, that row is left out of the shares: the total row is then the total
    of the known rows (labelled ``Total (known)``) and the unknown row, disclosed on its own,
    follows it with no share.
    """
    from helpers.disclosure import protect, share_from_rounded

    unknown = (
        (frame[label_column] == unknown_label).to_numpy() if unknown_label is not None else np.zeros(len(frame), bool)
    )
    known = frame[~unknown]
    total = {c: pd.NA for c in frame.columns}
    total[label_column] = TOTAL_KNOWN if unknown_label is not None else TOTAL
    for c in columns:
        total[c] = int(known[c].to_numpy(dtype="int64").sum())
    for c in ("Quarter", "Window"):
        if c in frame.columns and len(frame):
            total[c] = frame[c].iloc[0]
    with_total = pd.concat([known, pd.DataFrame([total])], ignore_index=True).astype({c: "int64" for c in columns})
    total_index = len(with_total) - 1
    protected = protect(with_total, columns, total_row=total_index)
    out = protected.display
    for share_column, count_column in (shares or {}).items():
        denominator = protected.rounded[count_column].iloc[total_index]
        out[share_column] = share_from_rounded(out[count_column], "*" if pd.isna(denominator) else int(denominator))
    if unknown.any():
        unknown_rows = published_counts(frame[unknown], columns)
        for share_column in shares or {}:
            unknown_rows[share_column] = np.nan
        out = pd.concat([out, unknown_rows], ignore_index=True)
    return out


# ---------------------------------------------------------------------------------------------
# Fast lookups on (possibly categorical) code columns
# ---------------------------------------------------------------------------------------------
def codes_of(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row (-1 missing) and the distinct values present, using a categorical's
    own codes (only the categories in use, so a slice of a national table stays small)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype("int64")
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)))
        renumber = np.full(len(values.cat.categories) + 1, -1, dtype="int64")
        renumber[used] = np.arange(len(used))
        return renumber[codes], np.asarray(values.cat.categories[used], dtype=object)
    return _codes(values)


def isin(values: pd.Series, allowed) -> np.ndarray:
    """Boolean array: each value is in ``allowed`` (each distinct value tested once)."""
    codes, uniques = codes_of(values)
    allowed = allowed if isinstance(allowed, (set, frozenset)) else set(np.asarray(allowed, dtype=object).tolist())
    hit = np.fromiter((u in allowed for u in uniques), dtype=bool, count=len(uniques))
    return np.append(hit, False)[codes]


def positions_in(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent), looking each distinct value up once."""
    codes, uniques = codes_of(values)
    found = np.append(index.get_indexer(pd.Index(uniques, dtype=object)), -1)
    return found[codes]


def expand_until_next(keys: np.ndarray, ordinals: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by key then ordinal, each row holds from its quarter until the quarter
    before the key's next row (the key's last row holds to ``last``). Returns, per held
    (row, quarter), the row position and the quarter ordinal."""
    ordinals = ordinals.astype("int64")
    following = np.append(ordinals[1:], last + 1)
    same_key = np.append(keys[1:] == keys[:-1], False)
    until = np.where(same_key, following, last + 1)
    lengths = np.clip(until - ordinals, 0, None)
    rows = np.repeat(np.arange(len(ordinals)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, ordinals[rows] + (np.arange(len(rows)) - starts)


# ---------------------------------------------------------------------------------------------
# Every ICB at once: rows grouped by ICB (helpers.peer_counts, the KPIs' all_icbs)
# ---------------------------------------------------------------------------------------------
def require_table(data, name: str) -> pd.DataFrame:
    """A table of ``data`` (every ICB's rows), or a clear error when it was not loaded."""
    frame = getattr(data, name, None)
    if frame is None:
        raise MissingTableError(f"this KPI needs the {name} table: load it with load_data(..., tables=[..., '{name}'])")
    return frame


def icb_of_organisations(data) -> dict[str, str]:
    """Organisation code -> ICB code, as :func:`helpers.kpi_common.icb_slice` maps them."""
    organisations = getattr(data, "organisations", None)
    if organisations is None:
        raise MissingTableError(
            "the peer counts need the organisations table to give each organisation its ICB: "
            "load it too (load_data(..., tables=[..., 'organisations']))"
        )
    return dict(zip(organisations["OrganisationCode"].astype(str), organisations["IcbCode"].astype(str)))


def row_icbs(frame: pd.DataFrame, column: str, icbs: Sequence[str], icb_of: dict[str, str] | None = None) -> np.ndarray:
    """Per row of ``frame``, the position in ``icbs`` of the row's ICB (-1 when it has none or it
    is not one of ``icbs``): the same row-to-ICB index as ``icb_slice`` (and cached with it)."""
    index, number = _icb_index(frame, column, icb_of)
    position = {icb: p for p, icb in enumerate(icbs)}
    lookup = np.full(len(number) + 1, -1, dtype="int64")  # the trailing -1 is for index -1
    for icb, n in number.items():
        lookup[n] = position.get(icb, -1)
    return lookup[index.astype("int64")]


def per_icb(positions: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """Sum of ``weights`` (or count of rows) per ICB position (rows at -1 left out), float64."""
    keep = positions >= 0
    chosen = None if weights is None else np.asarray(weights, dtype="float64")[keep]
    return np.bincount(positions[keep], weights=chosen, minlength=size).astype("float64")


def study_codes(recruitment: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer code of each recruitment row's ``StudyId`` and the distinct ids (once per table)."""
    cached = _weak_cache(_row_groups, recruitment)
    if cached is not None and "peer:StudyId" in cached:
        return cached["peer:StudyId"]
    result = codes_of(recruitment["StudyId"])
    if cached is not None:
        cached["peer:StudyId"] = result
    return result


def long_histories(
    icbs: Sequence[str], quarter: Quarter, base: int, starts: Sequence[int], columns: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Every ICB's quarterly history as one long frame: ``IcbCode``, ``Quarter`` (id) and each of
    ``columns`` (float64), the ICBs in the order of ``icbs``, each from its own first quarter
    (``starts[i]``, an ordinal no earlier than ``base``) to ``quarter``.

    ``columns``: name -> array of shape (len(icbs), quarter.ordinal - base + 1), column ``j`` the
    quarter of ordinal ``base + j``: the layout a vectorised pass fills with one row per ICB.
    """
    last = quarter.ordinal
    starts = np.minimum(np.asarray(starts, dtype="int64"), last)
    if len(starts) and starts.min() < base:
        raise ValueError(f"a start ({starts.min()}) is before the first column's quarter ({base})")
    lengths = last - starts + 1
    icb_rows = np.repeat(np.arange(len(icbs)), lengths)
    ordinals = np.concatenate([np.arange(s, last + 1) for s in starts]) if len(starts) else np.array([], "int64")
    out = {
        "IcbCode": np.asarray(list(icbs), dtype=object)[icb_rows],
        "Quarter": quarter_ids(ordinals),
    }
    for name, values in columns.items():
        out[name] = np.asarray(values, dtype="float64")[icb_rows, ordinals - base]
    return pd.DataFrame(out)


def first_ordinals(positions: np.ndarray, ordinals: np.ndarray, size: int, default: float = np.nan) -> np.ndarray:
    """Per ICB position, the earliest ordinal of its rows (rows at -1 or NaN left out), ``default``
    where it has none: where each ICB's ``by_quarter`` or stage history starts (float64)."""
    ordinals = np.asarray(ordinals, dtype="float64")
    keep = (positions >= 0) & ~np.isnan(ordinals)
    if not keep.any():
        return np.full(size, default, dtype="float64")
    # Quarters span a small range: mark each (ICB, quarter) present and take each ICB's first
    # (one bincount, much faster than a grouped minimum over millions of rows).
    low = np.nanmin(np.where(keep, ordinals, np.inf))
    width = int(np.nanmax(np.where(keep, ordinals, -np.inf)) - low) + 1
    cells = np.where(keep, positions * width + (np.where(keep, ordinals, low) - low).astype("int64"), size * width)
    present = np.bincount(cells, minlength=size * width + 1)[: size * width].reshape(size, width) > 0
    return np.where(present.any(axis=1), low + present.argmax(axis=1), default)


def history_starts(data, quarter: Quarter, icbs: Sequence[str]) -> np.ndarray:
    """:func:`history_start` of each ICB's own extract, whose periodic tables hold only its rows:
    the earliest month or quarter (up to ``quarter``) of the ICB's rows in the loaded periodic
    tables, rows given their ICB as :func:`icb_slice` does; NaN for an ICB with none (float64,
    read-only). Computed once per data object, quarter and ICBs: several KPIs' histories start here."""
    return remembered(
        data, ("history_starts", quarter.ordinal, tuple(icbs)), lambda: _history_starts(data, quarter, icbs)
    )


def _history_starts(data, quarter: Quarter, icbs: Sequence[str]) -> np.ndarray:
    size = len(icbs)
    starts = np.full(size, np.nan)
    icb_of = None
    for name in PERIODIC_TABLES:
        frame = getattr(data, name, None)
        if frame is None or not len(frame):
            continue
        if name in _ICB_COLUMN_TABLES:
            positions = row_icbs(frame, "IcbCode", icbs)
        else:
            icb_of = icb_of_organisations(data) if icb_of is None else icb_of
            positions = row_icbs(frame, _ORGANISATION_COLUMN[name], icbs, icb_of)
        columns = [frame_ordinals(frame, c) for c in CONTRACT[name].month_columns]
        columns += [frame_quarter_ordinals(frame, c) for c in CONTRACT[name].quarter_columns]
        for ordinals in columns:
            firsts = first_ordinals(np.where(ordinals <= quarter.ordinal, positions, -1), ordinals, size)
            starts = np.fmin(starts, firsts)  # fmin: NaN only where both are
    starts.flags.writeable = False
    return starts


def study_history_starts(
    data, quarter: Quarter, icbs: Sequence[str], positions: np.ndarray, opened: np.ndarray, first: int | None = None
) -> np.ndarray:
    """:func:`study_history_index`'s first quarter for each ICB's own extract (int64): its
    :func:`history_starts`, else (no periodic rows) the earliest opening of its studies (``positions``
    and ``opened``: each study row's ICB position and opening ordinal), else ``quarter``; reaching
    back to ``first`` when that is earlier."""
    starts = history_starts(data, quarter, icbs)
    starts = np.where(np.isnan(starts), first_ordinals(positions, opened, len(icbs)), starts)
    starts = np.where(np.isnan(starts), quarter.ordinal, starts)
    if first is not None:
        starts = np.minimum(starts, first)
    return np.minimum(starts, quarter.ordinal).astype("int64")


def sums_by_icb_and_quarter(
    positions: np.ndarray, ordinals: np.ndarray, quarter, size: int, weights: dict[str, np.ndarray]
) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """Rows grouped by (ICB, quarter): the first column's ordinal ``base``, each ICB's first quarter
    with rows up to ``quarter`` (``quarter`` when it has none: :func:`by_quarter`'s start) and,
    per name of ``weights``, the sum of the weights per ICB (row) and quarter (column), float64."""
    q = quarter.ordinal
    keep = (positions >= 0) & (ordinals <= q)  # NaN months compare False: dropped, as by_quarter does
    base = int(np.min(ordinals, where=keep, initial=q))
    width = q - base + 1
    # One cell per (ICB, quarter); rows not kept go to a last, spare cell (no compaction of millions of rows).
    spare = size * width
    cells = np.where(keep, positions * width + (ordinals - base), spare).astype("int64")
    has_rows = np.bincount(cells, minlength=spare + 1)[:spare].reshape(size, width) > 0
    starts = np.where(has_rows.any(axis=1), base + has_rows.argmax(axis=1), q)
    sums = {
        name: np.bincount(cells, weights=np.asarray(w, dtype="float64"), minlength=spare + 1)[:spare].reshape(
            size, width
        )
        for name, w in weights.items()
    }
    return base, starts, sums


def rolling_by_icb(sums: np.ndarray, base: int, starts: np.ndarray) -> np.ndarray:
    """:func:`rolling_sum` of each ICB's row of ``sums``: NaN until its history (from its start)
    has a full window. The sums are whole numbers, so differences of cumulative sums are exact."""
    cumulative = np.cumsum(sums, axis=1)
    before = np.zeros_like(cumulative)
    before[:, ROLLING_QUARTERS:] = cumulative[:, :-ROLLING_QUARTERS]
    ordinals = base + np.arange(sums.shape[1])
    full = ordinals[None, :] >= (starts[:, None] + ROLLING_QUARTERS - 1)
    return np.where(full, cumulative - before, np.nan)


# ---------------------------------------------------------------------------------------------
# Disclosure control of every ICB's rows at once (the all-ICB detail frames)
# ---------------------------------------------------------------------------------------------
def disclosable(values: np.ndarray) -> np.ndarray:
    """Per value, whether disclosure control takes it as a count (a whole number >= 0; missing
    values pass): a frame with any other value raises in :func:`published_counts`."""
    numbers = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.isnan(numbers) | ((numbers >= 0) & (numbers == np.floor(numbers)) & np.isfinite(numbers))


def published_counts_all_icbs(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """:func:`published_counts` of an all-ICB frame (``IcbCode`` column) for every ICB at once (it
    works cell by cell); the rows of an ICB with a value disclosure control rejects left out (its
    own frame raises)."""
    rejected = np.zeros(len(frame), dtype=bool)
    for column in columns:
        rejected |= ~disclosable(frame[column].to_numpy(dtype="float64", na_value=np.nan))
    if rejected.any():
        icbs = frame["IcbCode"].to_numpy()
        frame = frame[~np.isin(icbs, np.unique(icbs[rejected]))].reset_index(drop=True)
    return published_counts(frame, columns)


def published_breakdowns(
    frame: pd.DataFrame,
    columns: list[str],
    label_column: str,
    group_column: str,
    shares: dict[str, str] | None = None,
    unknown_label: str | None = None,
) -> pd.DataFrame:
    """:func:`published_breakdown` of every group of ``frame`` (its rows with one value of
    ``group_column``, e.g. each ICB's rows of an all-ICB frame) in one call: each group's rows as
    published_breakdown gives them for that group alone, the groups in order of first appearance.
    (One difference: a group alone whose every count is suppressed, with no unknown row, gets its
    counts as text dtype, pandas inferring it from all-``*`` values; here they share the others' object.)"""
    from helpers.disclosure import SUPPRESSED, protect, share_from_rounded

    groups, _ = pd.factorize(frame[group_column])
    size = int(groups.max()) + 1 if len(groups) else 0
    first_rows = np.unique(groups, return_index=True)[1]
    unknown = (
        np.asarray(frame[label_column] == unknown_label, dtype=bool)
        if unknown_label is not None
        else np.zeros(len(frame), bool)
    )
    known = frame[~unknown]
    sums = {c: np.zeros(size, dtype="int64") for c in columns}
    for c in columns:
        np.add.at(sums[c], groups[~unknown], known[c].to_numpy(dtype="int64"))
    # One total row per group, built as published_breakdown builds its one (same dtypes after concat).
    totals = []
    for g, first in enumerate(first_rows):
        total = {c: pd.NA for c in frame.columns}
        total[group_column] = frame[group_column].iloc[first]
        total[label_column] = TOTAL_KNOWN if unknown_label is not None else TOTAL
        for c in columns:
            total[c] = int(sums[c][g])
        for c in ("Quarter", "Window"):
            if c in frame.columns:
                total[c] = frame[c].iloc[first]
        totals.append(total)
    with_total = pd.concat([known, pd.DataFrame(totals)], ignore_index=True).astype({c: "int64" for c in columns})
    # Each group's known rows, then its total row.
    group_of = np.concatenate([groups[~unknown], np.arange(size)])
    section = np.concatenate([np.zeros(len(known), "int64"), np.ones(size, "int64")])
    order = np.lexsort((np.arange(len(group_of)), section, group_of))
    with_total = with_total.take(order)
    group_of, is_total = group_of[order], section[order] == 1
    # protect finds each group's total row by its label: -1, no other row's.
    with_total.index = pd.Index(np.where(is_total, -1, np.arange(len(with_total))))
    protected = protect(with_total, columns, total_row=-1, group_by=group_column)
    out = protected.display.reset_index(drop=True)
    for share_column, count_column in (shares or {}).items():
        rounded = protected.rounded[count_column].to_numpy(dtype=object)[is_total]  # group g's total is the g-th
        denominator = np.array([SUPPRESSED if pd.isna(d) else int(d) for d in rounded], dtype=object)
        out[share_column] = share_from_rounded(out[count_column], pd.Series(denominator[group_of], dtype=object))
    if unknown.any():
        unknown_rows = published_counts(frame[unknown], columns)
        for share_column in shares or {}:
            unknown_rows[share_column] = np.nan
        out = pd.concat([out, unknown_rows], ignore_index=True)
        group_of = np.concatenate([group_of, groups[unknown]])
        section = np.concatenate([np.where(is_total, 1, 0), np.full(int(unknown.sum()), 2)])
        out = out.take(np.lexsort((np.arange(len(out)), section, group_of))).reset_index(drop=True)
    return out
