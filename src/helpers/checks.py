"""Checks of the data once read: patient-level data, totals rows, values, keys, links, quarter.

Within a file: values that look like patient identifiers, rows of totals, blanks in required
columns, the contract's value rules and duplicate keys. Across tables: codes that refer to another
table (or to the 42 ICBs), recruitment before a study opened, and rows or history that do not fit
the quarter reported. Each check adds its problems to a :class:`ProblemList` and marks the rows it
reported in :attr:`Loaded.bad` so later checks skip them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from helpers import contract
from helpers.contract import Table
from helpers.conversion import Coded, Distinct
from helpers.paths import REFERENCE_DATA_DIR
from helpers.problems import MAX_MESSAGES, ProblemList, plain
from helpers.quarters import Quarter, parse
from helpers.readers import normalise_name

_TOTAL_LABEL = r"\s*(?:grand\s+|sub\s*)?totals?\s*:?\s*|\s*sum\s*"
_PII_COLUMN_WORDS = ("nhsnumber", "nhsno", "dateofbirth", "birthdate", "postcode", "postalcode")
_PII_COLUMN_NAMES = ("dob", "nhs", "patientid")
_NHS_NUMBER = re.compile(r"(?<![\d])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d])")
_NHS_NUMBER_CANDIDATE = r"(?:^|[^0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?:[^0-9]|$)"
_POSTCODE_CANDIDATE = r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b"
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?\d[A-Z]{2}\b", re.IGNORECASE)
# A date of birth in free text: a date right after a label (DOB, born, date of birth, birth date).
# An unlabelled date cannot be told from any other date, so it is not flagged.
_DOB_LABEL_CANDIDATE = r"\b(?:d\.? ?o\.? ?b|date of birth|birth ?date|born)\b"
_DATE_OF_BIRTH = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s?date|born(?:\s+on)?)[\s:=,.-]{0,3}"
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{4})\b",
    re.IGNORECASE,
)


# -- a table read and converted --------------------------------------------------------------


@dataclass
class Loaded:
    """A table read and converted, not yet checked across tables: frame has a RangeIndex."""

    table: Table
    file: str
    frame: pd.DataFrame  # converted columns (contract names); rows of totals removed
    rows: np.ndarray  # the analyst's row number for each frame row
    bad: dict[str, np.ndarray]  # per column: rows already reported, skipped by later checks
    coded: dict[str, Coded] = field(default_factory=dict)  # text-read columns, by distinct value

    def coded_column(self, name: str) -> Coded:
        if name not in self.coded:
            self.coded[name] = Coded.of(self.frame[name])
        return self.coded[name]


# -- patient-level data and totals rows ------------------------------------------------------


def pii_column(name: str) -> bool:
    """A column name that says the column holds patient identifiers (NHS number, DOB, postcode)."""
    norm = normalise_name(name)
    return norm in _PII_COLUMN_NAMES or any(word in norm for word in _PII_COLUMN_WORDS)


def nhs_number_valid(digits: str) -> bool:
    """True when ten digits pass the NHS number modulus-11 check."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _pii_reason(text: str) -> str | None:
    for match in _NHS_NUMBER.finditer(text):
        if nhs_number_valid("".join(match.groups())):
            return f"looks like an NHS number ({match[1]} *** ****)"
    match = _POSTCODE.search(text)
    if match:
        return f"looks like a full postcode ({match[1].upper()} ***)"
    if _DATE_OF_BIRTH.search(text):
        return "looks like a date of birth (a date after 'DOB', 'born' or 'date of birth')"
    return None


def check_pii(column: Distinct, rows: np.ndarray, file: str, name: str, problems: ProblemList) -> np.ndarray:
    """Flag values that look like an NHS number, a full postcode or a labelled date of birth."""
    values = column.values
    candidate = (
        values.str.contains(_NHS_NUMBER_CANDIDATE, regex=True).fillna(False).to_numpy(dtype=bool)
        | values.str.contains(_POSTCODE_CANDIDATE, case=False, regex=True).fillna(False).to_numpy(dtype=bool)
        | values.str.contains(_DOB_LABEL_CANDIDATE, case=False, regex=True).fillna(False).to_numpy(dtype=bool)
    )
    reasons = {i: r for i in np.flatnonzero(candidate) if (r := _pii_reason(values.iat[i]))}
    if not reasons:
        return np.zeros(len(column.codes), dtype=bool)
    hit = np.zeros(len(values), dtype=bool)
    hit[list(reasons)] = True
    flagged = column.rows_where(hit)
    problems.add_rows(
        file,
        rows[flagged],
        name,
        column.codes[flagged],
        lambda code: f"{reasons[code]}: the tables must hold aggregate counts, not patient-level data",
        "values that look like patient identifiers (NHS number, postcode or date of birth)",
    )
    return flagged


def drop_totals(
    table: Table, columns: dict[str, Distinct], rows: np.ndarray, file: str, problems: ProblemList
) -> np.ndarray:
    """Report rows labelled as totals in a key or code column; return the rows to keep."""
    keep = np.ones(len(rows), dtype=bool)
    for name, column in columns.items():
        if name not in table.key and table.column(name).kind != "code":
            continue
        hit = column.values.str.fullmatch(_TOTAL_LABEL, case=False).fillna(False).to_numpy(dtype=bool)
        if not hit.any():
            continue
        is_total = column.rows_where(hit) & keep
        problems.add_rows(
            file,
            rows[is_total],
            name,
            column.source[is_total],
            lambda v: (
                f"'{str(v).strip()}' row: looks like a totals row inside the data; remove it (the pack adds up the rows itself)"
            ),
            "totals rows inside the data",
        )
        keep &= ~is_total
    return keep


# -- checks within a table -------------------------------------------------------------------


def check_required(loaded: Loaded, problems: ProblemList) -> None:
    """Blanks in required columns."""
    for spec in loaded.table.columns:
        if not spec.required or spec.name not in loaded.frame.columns:
            continue
        missing = loaded.frame[spec.name].isna().to_numpy(dtype=bool) & ~loaded.bad[spec.name]
        problems.add_rows(
            loaded.file,
            loaded.rows[missing],
            spec.name,
            np.zeros(min(int(missing.sum()), MAX_MESSAGES)),
            lambda _: "missing value: this column is required",
            "missing values",
        )
        loaded.bad[spec.name] |= missing


def check_values(loaded: Loaded, problems: ProblemList) -> None:
    """The contract's value rules (allowed values, ranges), via the pandera schema."""
    schema = contract.VALUE_SCHEMAS[loaded.table.name]
    present = [c for c in schema.columns if c in loaded.frame.columns]
    if not present:
        return
    try:
        schema.select_columns(present).validate(loaded.frame, lazy=True, inplace=True)
        return
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases[cases["index"].notna() & cases["column"].isin(present)]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        positions = group["index"].astype(int).to_numpy()
        keep = ~loaded.bad[column][positions]
        positions, values = positions[keep], group["failure_case"].to_numpy()[keep]
        describe, summary = (lambda v, c=check: f"'{plain(v)}' {c}"), f"values that break the rule: {check}"
        capped = len(group) >= contract.FAILURE_CASES_CAP
        problems.add_rows(loaded.file, loaded.rows[positions], column, values, describe, summary, at_least=capped)
        loaded.bad[column][positions] = True


def check_counts_within(loaded: Loaded, problems: ProblemList) -> None:
    """Rows whose ``Numerator`` and ``Denominator`` cannot make a proportion (the ``benchmarks``
    table): a denominator of 0 (no value: leave the row out), or a numerator above its denominator.
    Rows already reported in either column are skipped."""
    columns = loaded.table.column_names
    if "Numerator" not in columns or "Denominator" not in columns:
        return
    if "Numerator" not in loaded.frame.columns or "Denominator" not in loaded.frame.columns:
        return
    numerator = pd.to_numeric(loaded.frame["Numerator"], errors="coerce").to_numpy(dtype="float64")
    denominator = pd.to_numeric(loaded.frame["Denominator"], errors="coerce").to_numpy(dtype="float64")
    clean = ~loaded.bad["Numerator"] & ~loaded.bad["Denominator"] & ~np.isnan(numerator) & ~np.isnan(denominator)
    zero = clean & (denominator == 0)
    problems.add_rows(
        loaded.file,
        loaded.rows[zero],
        "Denominator",
        numerator[zero],
        lambda _: "'0' must be more than 0: a KPI with no denominator has no value (leave the row out)",
        "denominators of 0",
    )
    above = clean & ~zero & (numerator > denominator)
    pairs = [(n, d) for n, d in zip(numerator[above], denominator[above])]
    problems.add_rows(
        loaded.file,
        loaded.rows[above],
        "Numerator",
        pairs,
        lambda pair: f"'{pair[0]:g}' is more than the Denominator ({pair[1]:g}): the KPIs compared are proportions",
        "numerators above their denominators",
    )
    loaded.bad["Denominator"] |= zero
    loaded.bad["Numerator"] |= above


def _clean_key_rows(loaded: Loaded, columns: Iterable[str]) -> np.ndarray:
    ok = np.ones(len(loaded.frame), dtype=bool)
    for column in columns:
        ok &= ~loaded.bad[column]
    return ok


def _key_ids(loaded: Loaded, key: list[str]) -> np.ndarray | None:
    """One int64 per row identifying its key (blank is a value of its own); None if too many keys."""
    ids = np.zeros(len(loaded.frame), dtype=np.int64)
    span = 1
    for name in key:
        coded = loaded.coded_column(name)
        size = len(coded.values) + 1
        if span * size >= 2**62:
            return None
        ids = ids * size + (coded.codes + 1)
        span *= size
    return ids


def check_duplicates(loaded: Loaded, problems: ProblemList) -> None:
    key = list(loaded.table.key)
    if any(c not in loaded.frame.columns for c in key):
        return
    ids = _key_ids(loaded, key)
    if ids is not None and (len(ids) < 2 or bool((ids[1:] > ids[:-1]).all())):
        return  # rows sorted by key (the usual export): strictly increasing ids, no duplicates
    if ids is not None:
        ordered = np.sort(ids)  # sorting finds out "no duplicates" faster than hashing
        if not (ordered[1:] == ordered[:-1]).any():
            return
        duplicated = pd.Series(ids).duplicated(keep="first").to_numpy()
    else:  # more key combinations than an int64 holds: let pandas hash the tuples
        duplicated = loaded.frame[key].duplicated(keep="first").to_numpy()
    duplicated = duplicated & _clean_key_rows(loaded, key)
    if not duplicated.any():
        return
    positions = np.flatnonzero(duplicated)
    values = []
    for p in positions[:MAX_MESSAGES]:
        if ids is not None:
            first = int(np.flatnonzero(ids == ids[p])[0])
        else:
            same = (loaded.frame[key] == loaded.frame[key].iloc[p]).fillna(False).all(axis=1).to_numpy()
            first = int(np.flatnonzero(same)[0])
        shown = ", ".join(f"{c}={plain(loaded.frame[c].iat[p])}" for c in key)
        values.append(f"{shown}|{loaded.rows[first]}")
    problems.add_rows(
        loaded.file,
        loaded.rows[positions],
        None,
        values,
        lambda v: f"duplicate key ({v.split('|')[0]}): same as row {v.split('|')[1]}",
        f"duplicate keys ({', '.join(key)})",
    )
    for c in key:
        loaded.bad[c][positions] = True


# -- checks across tables --------------------------------------------------------------------


def icb_codes() -> frozenset[str]:
    """ODS codes of the 42 ICBs (shipped reference data)."""
    return frozenset(pd.read_csv(REFERENCE_DATA_DIR / "icb_2023_codes.csv", dtype=str)["ods_code"])


def _isin(values: pd.Series, known: Iterable) -> np.ndarray:
    """Membership by hashing plain Python strings (pandas' arrow-string isin is slow for long lists)."""
    known = pd.Series(np.asarray(list(known) if not hasattr(known, "__array__") else known, dtype=object), dtype=object)
    return pd.Series(values.to_numpy(dtype=object), dtype=object).isin(known).to_numpy(dtype=bool)


def check_links(loaded: dict[str, Loaded], problems: ProblemList) -> None:
    """Foreign keys, and studies recruiting before they opened."""
    for item in loaded.values():
        for spec in item.table.columns:
            if not spec.references or spec.name not in item.frame.columns:
                continue
            if spec.references == contract.ICB_REFERENCE:
                known, where = icb_codes(), "the 42 ICB codes (ODS, e.g. QWU)"
            else:
                parent_table, parent_column = spec.references.split(".")
                parent = loaded.get(parent_table)
                if parent is None or parent_column not in parent.frame.columns:
                    continue  # the parent's own problem is already reported
                known, where = parent.coded_column(parent_column).values.dropna(), parent.file
            values = item.frame[spec.name]
            coded = item.coded_column(spec.name)
            unknown_value = coded.values.notna().to_numpy(dtype=bool) & ~_isin(coded.values, known)
            unknown = coded.rows_where(unknown_value) & ~item.bad[spec.name]
            problems.add_rows(
                item.file,
                item.rows[unknown],
                spec.name,
                values[unknown],
                lambda v, w=where: f"'{v}' is not in {w}",
                f"codes not found in {where}",
            )
            item.bad[spec.name] |= unknown
    _check_recruiting_before_opening(loaded, problems)


def _check_recruiting_before_opening(loaded: dict[str, Loaded], problems: ProblemList) -> None:
    recruitment, studies = loaded.get("recruitment"), loaded.get("studies")
    if recruitment is None or studies is None:
        return
    if not {"StudyId", "Month"} <= set(recruitment.frame.columns) or not {"StudyId", "ActualOpeningDate"} <= set(
        studies.frame.columns
    ):
        return
    # Studies whose opening date is itself wrong are already reported: skip their recruitment.
    usable = ~(studies.bad["StudyId"] | studies.bad["ActualOpeningDate"])
    opening = studies.frame[usable].drop_duplicates("StudyId").set_index("StudyId")["ActualOpeningDate"]
    opening_month = opening.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    known = _clean_key_rows(recruitment, ["StudyId", "Month"]) & recruitment.frame["Month"].notna().to_numpy()
    study = recruitment.coded_column("StudyId")
    opening_of_study = study.values.map(opening_month).astype("datetime64[ns]")
    study_opening = pd.Series(opening_of_study.array.take(study.codes, allow_fill=True))
    before = known & (study_opening.notna() & (recruitment.frame["Month"] < study_opening)).to_numpy()
    unopened = _isin(study.values, opening.index) & opening_of_study.isna().to_numpy(dtype=bool)
    never_opened = known & study.rows_where(unopened)
    values = [
        f"{recruitment.frame['StudyId'].iat[p]}|{plain(recruitment.frame['Month'].iat[p])[:7]}|{plain(study_opening.iat[p])[:7]}"
        for p in np.flatnonzero(before)[:MAX_MESSAGES]
    ]
    problems.add_rows(
        recruitment.file,
        recruitment.rows[before],
        "Month",
        values,
        lambda v: "study {} recruits in {}, before its ActualOpeningDate month ({})".format(*v.split("|")),
        "recruitment before the study's ActualOpeningDate month",
    )
    problems.add_rows(
        recruitment.file,
        recruitment.rows[never_opened],
        "StudyId",
        recruitment.frame["StudyId"][never_opened],
        lambda v: f"study {v} recruits but has no ActualOpeningDate in {studies.file}",
        "recruitment for studies with no ActualOpeningDate",
    )


def check_quarter(loaded: dict[str, Loaded], quarter: Quarter, problems: ProblemList) -> None:
    """Rows dated after the quarter's end; tables whose history stops before the quarter."""
    end = pd.Timestamp(quarter.end)
    last_month = pd.Timestamp(quarter.months[-1])
    for item in loaded.values():
        for spec in item.table.columns:
            if spec.name not in item.frame.columns or spec.future_allowed:
                continue
            values = item.frame[spec.name]
            if spec.kind == "date":
                late = values > end
            elif spec.kind == "month":
                late = values > last_month
            elif spec.kind == "quarter":
                late = (values > quarter.id).fillna(False)  # ids sort as quarters do
            else:
                continue
            late = np.array(late, dtype=bool) & ~item.bad[spec.name]
            problems.add_rows(
                item.file,
                item.rows[late],
                spec.name,
                values[late],
                lambda v: (
                    f"'{plain(v)}' is after the end of the quarter reported ({quarter}, ends {quarter.end:%d %b %Y})"
                ),
                f"rows dated after {quarter}",
            )
        if item.table.name in contract.PERIODIC_TABLES:
            _check_history_reaches(item, quarter, problems)


def _check_history_reaches(item: Loaded, quarter: Quarter, problems: ProblemList) -> None:
    period = "Month" if "Month" in item.table.column_names else "Quarter"
    if period not in item.frame.columns:
        return
    values = item.frame[period].dropna()
    if values.empty:
        return
    if period == "Month":
        latest = Quarter.of_date(values.max())
        detail = f" (last month {values.max():%b %Y})"
    else:
        latest = parse(values.max())
        detail = ""
    if latest < quarter:
        problems.add(
            item.file,
            None,
            period,
            f"no rows for the quarter reported ({quarter}); the data appear to end at {latest}{detail}: "
            "is this an earlier quarter's data, or is --quarter wrong?",
        )
    elif period == "Month" and values.max() < pd.Timestamp(quarter.months[-1]):
        problems.add(
            item.file,
            None,
            period,
            f"the last month is {values.max():%b %Y}, before the quarter's last month ({quarter.months[-1]:%b %Y}): "
            "was the extract taken before the quarter ended?",
            "warning",
        )
    elif latest > quarter:
        problems.add(
            item.file,
            None,
            period,
            f"the data run to {latest}{detail}, after the quarter reported ({quarter}): "
            "is --quarter wrong, or were later rows included?",
        )
