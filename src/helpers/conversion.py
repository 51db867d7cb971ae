"""Converting a column read as text (or typed, from Parquet) to the contract's typed form.

One converter per kind of column (code, text, category, bool, date, month, quarter, count,
number, decile). Text columns are converted once per distinct value (:class:`Distinct`) and
spread back to the rows; values that cannot be read are reported by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.contract import TEXT_DTYPE, Column
from helpers.problems import ProblemList, plain
from helpers.quarters import QuarterError, parse

# -- columns by distinct value ---------------------------------------------------------------


class Distinct:
    """A text column as codes into its distinct values, so checks run once per distinct value."""

    def __init__(self, source: pd.Series, codes: np.ndarray | None = None, values: pd.Series | None = None):
        self.source = source  # the raw values, echoed in messages
        if codes is None:
            if isinstance(source.dtype, pd.CategoricalDtype):
                codes = source.cat.codes.to_numpy().astype(np.intp)
                values = pd.Series(source.cat.categories.astype(TEXT_DTYPE))
            else:
                codes, uniques = pd.factorize(source)
                values = pd.Series(uniques, dtype=TEXT_DTYPE)
        self.codes = codes
        self.values = values.reset_index(drop=True)

    def rows_where(self, hit: np.ndarray) -> np.ndarray:
        """Row mask from a mask over the distinct values (missing values never hit)."""
        return np.append(np.asarray(hit, dtype=bool), False)[self.codes]

    def subset(self, keep: np.ndarray) -> Distinct:
        return Distinct(self.source[keep].reset_index(drop=True), self.codes[keep], self.values)

    def take(self, per_value: pd.Series) -> pd.Series:
        """One value per row from one per distinct value (missing where the row is blank)."""
        return pd.Series(per_value.array.take(self.codes, allow_fill=True))


@dataclass
class Coded:
    """A converted column as codes into its distinct typed values (-1 for missing)."""

    codes: np.ndarray
    values: pd.Series

    @classmethod
    def of(cls, series: pd.Series) -> Coded:
        codes, uniques = pd.factorize(series)
        return cls(codes, pd.Series(uniques))

    def rows_where(self, hit: np.ndarray) -> np.ndarray:
        return np.append(np.asarray(hit, dtype=bool), False)[self.codes]


# -- converting columns ----------------------------------------------------------------------


def _stripped(series: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed and blanks as missing."""
    text = series.astype(TEXT_DTYPE).str.strip()
    return text.mask(text == "")


def convert(
    spec: Column, series: pd.Series, column: Distinct | None, rows: np.ndarray, file: str, problems: ProblemList
) -> tuple[pd.Series, np.ndarray, Coded | None]:
    """Convert one column to its typed form; report values that cannot be read.

    Text is converted once per distinct value (``column``) and spread back to the rows.
    """
    converter = _CONVERTERS[spec.kind]
    failed = np.zeros(len(series), dtype=bool)
    if (
        spec.kind == "code"
        and pd.api.types.is_numeric_dtype(series)
        and not isinstance(series.dtype, pd.CategoricalDtype)
    ):
        # A code stored as a number has lost its leading zeros (00123 -> 123): the file must change.
        problems.add(
            file, None, spec.name, "holds numbers, but codes must be stored as text (as numbers, 00123 becomes 123)"
        )
        failed[:] = True
        return series.astype(TEXT_DTYPE), failed, None

    if column is None:

        def report(mask, describe, summary, severity="error") -> None:
            mask = np.asarray(mask, dtype=bool)
            if severity == "error":
                failed[:] |= mask
            problems.add_rows(file, rows[mask], spec.name, series[mask], describe, summary, severity)

        return converter(spec, series, report), failed, None

    def report_distinct(hit, describe, summary, severity="error") -> None:
        hit = np.asarray(hit, dtype=bool)
        if not hit.any():
            return
        mask = column.rows_where(hit)
        if severity == "error":
            failed[:] |= mask
        problems.add_rows(file, rows[mask], spec.name, column.source[mask], describe, summary, severity)

    per_value = converter(spec, column.values, report_distinct)
    typed_codes, typed_values = pd.factorize(per_value)
    coded = Coded(np.append(typed_codes, -1)[column.codes], pd.Series(typed_values))
    return column.take(per_value), failed, coded


Report = Callable[..., None]


def _to_text(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    return _stripped(series)


def _to_category(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    text = _stripped(series)
    # Accept any capitalisation of an allowed value, stored as the contract spells it.
    canonical = {v.lower(): v for v in spec.allowed}
    exact = text.isin(spec.allowed)
    if not exact.all():
        text = text.where(exact, text.str.lower().map(canonical).fillna(text))
    return text


_TRUE = {"y", "yes", "true", "t", "1"}
_FALSE = {"n", "no", "false", "f", "0"}


def _to_bool(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_numeric_dtype(series):  # Parquet 1/0
        series = series.astype("Float64").astype(TEXT_DTYPE).str.replace(r"\.0$", "", regex=True)
    text = _stripped(series).str.lower()
    truth = pd.Series(pd.NA, index=series.index, dtype="boolean")
    truth[text.isin(_TRUE).to_numpy()] = True
    truth[text.isin(_FALSE).to_numpy()] = False
    unreadable = (text.notna() & truth.isna()).to_numpy()
    report(
        unreadable,
        lambda v: f"'{v}' is not a yes/no value: write Y/N, TRUE/FALSE or 1/0",
        "values that are not Y/N, TRUE/FALSE or 1/0",
    )
    return truth


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_SLASHED_DATE = r"(\d{1,2})/(\d{1,2})/(\d{4})"


def _parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse ISO and UK dates: (dates, is_iso, is_slashed)."""
    is_iso = text.str.fullmatch(_ISO_DATE + r"(?:[ T]00:00(?::00)?)?").fillna(False).astype(bool)
    is_slashed = text.str.fullmatch(_SLASHED_DATE).fillna(False).astype(bool)
    dates = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if is_iso.any():
        dates[is_iso] = pd.to_datetime(text[is_iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce").astype(
            "datetime64[ns]"
        )
    if is_slashed.any():
        dates[is_slashed] = pd.to_datetime(text[is_slashed], format="%d/%m/%Y", errors="coerce").astype(
            "datetime64[ns]"
        )
    return dates, is_iso, is_slashed


def _datetime_input(series: pd.Series) -> pd.Series | None:
    """A column already holding dates (Parquet), as datetime64[ns]; None when it holds text."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        return series.astype("datetime64[ns]")
    if series.dtype == object and len(series.dropna()) and isinstance(series.dropna().iloc[0], dt.date):
        return pd.to_datetime(series).astype("datetime64[ns]")
    return None


def _to_date(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    already = _datetime_input(series)
    if already is not None:
        return already
    text = _stripped(series)
    dates, is_iso, is_slashed = _parse_dates(text)
    unreadable = (text.notna() & dates.isna()).to_numpy()
    report(
        unreadable,
        lambda v: f"cannot read date '{v}': write YYYY-MM-DD (or DD/MM/YYYY; month-first dates are not accepted)",
        "dates that cannot be read",
    )
    if is_iso.any() and is_slashed.any():
        parts = text[is_slashed].str.extract(_SLASHED_DATE)
        day, month = parts[0].astype(int), parts[1].astype(int)
        both_small = (day <= 12) & (month <= 12) & (day != month)  # 05/05 reads the same either way
        ambiguous = pd.Series(False, index=text.index)
        ambiguous[both_small[both_small].index] = True
        report(
            ambiguous.to_numpy() & ~unreadable,
            lambda v: (
                f"ambiguous date '{v}': this column mixes YYYY-MM-DD and slashed dates, so it could be "
                "day/month or month/day; write it as YYYY-MM-DD"
            ),
            "ambiguous slashed dates in a column that mixes date styles",
        )
    return dates


def _to_month(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    months = _datetime_input(series)
    if months is None:
        text = _stripped(series)
        as_month = text.str.fullmatch(r"\d{4}-\d{1,2}").fillna(False).astype(bool)
        text = text.where(~as_month, text + "-01")
        text = text.where(~as_month, text.str.replace(r"^(\d{4})-(\d)-01$", r"\1-0\2-01", regex=True))
        months, _, _ = _parse_dates(text)
        unreadable = (text.notna() & months.isna()).to_numpy()
        report(
            unreadable,
            lambda v: f"cannot read month '{v}': write YYYY-MM (or the first day of the month, YYYY-MM-01)",
            "months that cannot be read",
        )
    else:
        unreadable = np.zeros(len(series), dtype=bool)
    not_first = (months.notna() & (months.dt.day != 1)).to_numpy() & ~unreadable
    report(
        not_first,
        lambda v: f"month '{plain(v)}' is not the first day of a month: write YYYY-MM",
        "months not on the first day",
    )
    return months


def _to_quarter(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    text = _stripped(series)
    ids: dict[str, str | None] = {}
    for label in text.dropna().unique():
        try:
            ids[label] = parse(label).id
        except QuarterError:
            ids[label] = None
    quarter_ids = text.map(ids).astype(TEXT_DTYPE)
    unreadable = (text.notna() & quarter_ids.isna()).to_numpy()
    report(
        unreadable,
        lambda v: f"cannot read quarter '{v}': write it like 2026/27 Q2 or 2026-27-Q2",
        "quarters that cannot be read",
    )
    return quarter_ids


def _whole_numbers(spec: Column, series: pd.Series, report: Report, thousands_warning: bool) -> pd.Series:
    """Whole numbers from text or numbers; negative and fractional values are errors."""
    if pd.api.types.is_integer_dtype(series):
        return series.astype("Int64")
    if pd.api.types.is_float_dtype(series):
        fractional = (series.notna() & (series % 1 != 0)).to_numpy()
        report(fractional, lambda v: f"{v} is not a whole number", "values that are not whole numbers")
        return series.where(~fractional).round().astype("Int64")
    text = _stripped(series)
    plain = text.str.fullmatch(r"\d{1,15}").fillna(False).astype(bool)
    if plain.all():  # the common case for big files: no further pattern work
        return pd.to_numeric(text).astype("Int64")
    commas = text.str.fullmatch(r"\d{1,3}(?:,\d{3})+").fillna(False).astype(bool)
    dot_zero = text.str.fullmatch(r"\d{1,15}\.0*").fillna(False).astype(bool)
    negative = text.str.fullmatch(r"-\s*[\d,]+(?:\.\d*)?").fillna(False).astype(bool)
    fraction = text.str.fullmatch(r"[\d,]+\.\d*").fillna(False).astype(bool) & ~dot_zero
    readable = plain | commas | dot_zero
    other = text.notna() & ~readable & ~negative & ~fraction
    report(negative.to_numpy(), lambda v: f"'{v}' is negative: must be a whole number 0 or more", "negative values")
    report(fraction.to_numpy(), lambda v: f"'{v}' is not a whole number", "values that are not whole numbers")
    report(
        other.to_numpy(),
        lambda v: f"'{v}' is not a number: write a whole number 0 or more",
        "values that are not numbers",
    )
    if thousands_warning:
        report(
            commas.to_numpy(),
            lambda v: f"'{v}' read as {v.replace(',', '')} (thousands separator removed)",
            "values with thousands separators, read without them",
            severity="warning",
        )
    digits = text.where(readable).str.replace(",", "", regex=False).str.replace(r"\.0*$", "", regex=True)
    return pd.to_numeric(digits).astype("Int64")


def _to_count(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    return _whole_numbers(spec, series, report, thousands_warning=True)


def _to_decile(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    return _whole_numbers(spec, series, report, thousands_warning=False)


def _to_number(spec: Column, series: pd.Series, report: Report) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    text = _stripped(series)
    pounds = text.str.contains("£", regex=False).fillna(False).astype(bool).to_numpy()
    cleaned = text.str.replace("£", "", regex=False)
    commas = cleaned.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?").fillna(False).astype(bool)
    cleaned = cleaned.where(~commas, cleaned.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(
        cleaned.where(cleaned.str.fullmatch(r"-?\d+(?:\.\d+)?").fillna(False).astype(bool)), errors="coerce"
    )
    report(pounds, lambda v: f"'{v}': write amounts as plain numbers, without '£'", "amounts written with '£'")
    unreadable = (text.notna() & numbers.isna()).to_numpy() & ~pounds
    report(unreadable, lambda v: f"'{v}' is not a number", "values that are not numbers")
    return numbers.astype("float64")


_CONVERTERS: dict[str, Callable[[Column, pd.Series, Report], pd.Series]] = {
    "code": _to_text,
    "text": _to_text,
    "category": _to_category,
    "bool": _to_bool,
    "date": _to_date,
    "month": _to_month,
    "quarter": _to_quarter,
    "count": _to_count,
    "number": _to_number,
    "decile": _to_decile,
}
