"""Load a quarter's data folder into typed frames, reporting every problem at once.

:func:`load_data` reads one file per table (CSV, Excel or Parquet), converts each column as
:mod:`helpers.contract` says, checks the values, the keys, the links between tables and the
quarter, and raises :class:`DataError` listing every problem (file, row as the analyst sees it,
column) when anything is wrong. Checks are vectorised; messages are built only for failing rows and
capped per (file, column, kind of problem).

The parts: :mod:`helpers.readers` finds and reads the files, :mod:`helpers.conversion` types the
columns, :mod:`helpers.checks` checks the values, keys, links and quarter, and
:mod:`helpers.problems` collects and reports the problems.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import contract
from helpers.checks import (
    Loaded,
    check_counts_within,
    check_duplicates,
    check_links,
    check_pii,
    check_quarter,
    check_required,
    check_values,
    drop_totals,
    pii_column,
)
from helpers.contract import CONTRACT, OPTIONAL_TABLES, TABLES, TEXT_DTYPE, Table
from helpers.conversion import Distinct, convert
from helpers.freshness import ExtractDates, check_extract, read_extract
from helpers.problems import DataError, Problem, ProblemList, format_report
from helpers.quarters import Quarter, parse
from helpers.readers import HEADER_SEARCH_ROWS, find_table_files, normalise_name, read_csv, read_parquet, read_xlsx

__all__ = ["Data", "DataError", "Problem", "check_data", "format_report", "load_data"]


# -- the loaded data -------------------------------------------------------------------------


@dataclass
class Data:
    """The typed tables of one data folder (None for a table not requested)."""

    organisations: pd.DataFrame | None = None
    studies: pd.DataFrame | None = None
    recruitment: pd.DataFrame | None = None
    recruitment_imd: pd.DataFrame | None = None
    recruitment_ethnicity: pd.DataFrame | None = None
    finance: pd.DataFrame | None = None
    workforce: pd.DataFrame | None = None
    innovations: pd.DataFrame | None = None
    innovation_benefits: pd.DataFrame | None = None
    engagement: pd.DataFrame | None = None
    deliverables: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None  # optional: peer data (None when the folder has none)
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    # the folder's optional extract file (helpers.freshness): when the tables were extracted
    extract: ExtractDates | None = None

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)


def load_data(data_dir: str | Path, quarter: str | Quarter | None = None, tables: Iterable[str] | None = None) -> Data:
    """Read and check the tables in ``data_dir``; raise :class:`DataError` listing every problem.

    ``quarter`` (the quarter reported) turns on the checks for rows dated after its end and for
    data that stop before it. ``tables`` limits the tables returned (default: every table of
    :data:`~helpers.contract.TABLES`, and each optional table, such as ``benchmarks``, whose file
    is in the folder); the tables they refer to are read too, to check the links, but returned as
    None. An optional table named in ``tables`` must have its file.
    """
    data, problems = check_data(data_dir, quarter, tables)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(problems, heading=f"Data folder {Path(data_dir)} does not meet the data contract.")
    return data


def check_data(
    data_dir: str | Path, quarter: str | Quarter | None = None, tables: Iterable[str] | None = None
) -> tuple[Data, list[Problem]]:
    """Like :func:`load_data` but returns the problems (errors and warnings) instead of raising.

    Frames of tables with errors are left as None.
    """
    requested = tuple(TABLES if tables is None else tables)
    unknown = [t for t in requested if t not in CONTRACT]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; the tables are {', '.join(CONTRACT)}")
    if quarter is not None:
        quarter = parse(quarter)
    files = find_table_files(data_dir)
    if tables is None:  # optional tables are read when the folder has them
        requested += tuple(t for t in OPTIONAL_TABLES if t in files)
    to_read = _with_parents(requested)
    problems = ProblemList()
    loaded: dict[str, Loaded] = {}
    for table in to_read:
        if table not in files:
            others = sorted(p.name for p in Path(data_dir).iterdir() if p.stem.lower() == table)
            hint = (
                f" (found {', '.join(others)}: not a format that is read; save it as .csv or .xlsx)" if others else ""
            )
            problems.add(
                table,
                None,
                None,
                f"no file for table {table}: expected {table}.csv, {table}.xlsx or {table}.parquet{hint}",
            )
            continue
        frame = _load_table(CONTRACT[table], files[table], problems)
        if frame is not None:
            loaded[table] = frame
    check_links(loaded, problems)
    if quarter is not None:
        check_quarter(loaded, quarter, problems)
    extract, extract_problems = read_extract(data_dir)  # optional: extract.yml / extract.json
    problems.items.extend(extract_problems)
    if quarter is not None:
        problems.items.extend(check_extract(extract, quarter))
    data = Data(files={t: files[t] for t in to_read if t in files}, extract=extract)
    for table in requested:
        if table in loaded and not problems.errors_in(loaded[table].file):
            setattr(data, table, _typed(CONTRACT[table], loaded[table]))
    data.warnings = [p for p in problems.items if p.severity == "warning"]
    return data, problems.items


def _with_parents(tables: tuple[str, ...]) -> tuple[str, ...]:
    needed = set(tables)
    changed = True
    while changed:
        changed = False
        for name in list(needed):
            for col in CONTRACT[name].columns:
                if col.references and col.references != contract.ICB_REFERENCE:
                    parent = col.references.split(".")[0]
                    if parent not in needed:
                        needed.add(parent)
                        changed = True
    return tuple(t for t in CONTRACT if t in needed)


# -- reading a table -------------------------------------------------------------------------


def _load_table(table: Table, path: Path, problems: ProblemList) -> Loaded | None:
    """Read one file, match its columns to the contract and convert them."""
    file = path.name
    if path.suffix.lower() == ".parquet":
        frame = read_parquet(path, problems)
        if frame is None:
            return None
        frame = frame.reset_index(drop=True)
        header_row = 1
        names = [str(c) for c in frame.columns]
        frame.columns = range(len(names))
        rows = np.arange(len(frame), dtype=np.int64) + 2
    else:
        read = read_csv(path, table, problems) if path.suffix.lower() == ".csv" else read_xlsx(path, table, problems)
        if read is None:
            return None
        raw, raw_rows = read
        header_row, rows = int(raw_rows[0]), raw_rows[1:]
        names = [str(v).strip() for v in raw.iloc[0]]
        frame = raw.iloc[1:].reset_index(drop=True)

    # Blank lines and empty trailing rows carry nothing: drop them quietly.
    if path.suffix.lower() != ".parquet" and len(frame):
        filled = (frame.fillna("").apply(lambda s: s.str.strip()) != "").any(axis=1).to_numpy()
        frame, rows = frame[filled].reset_index(drop=True), rows[filled]

    columns = _match_columns(table, names, frame, file, header_row, problems)
    if columns is None:
        return None
    if len(frame) == 0:
        problems.add(file, None, None, "the file has a header but no data rows")
        return None

    # Text columns are scanned on their distinct values: big files repeat a few codes many times.
    label_of = {pos: name for name, pos in columns.items()}
    distinct = {pos: Distinct(frame[pos]) for pos in frame.columns if _is_text(frame[pos])}
    # PII first, in every text column (extra ones too): a flagged value is never echoed again.
    bad_by_pos = {pos: np.zeros(len(frame), dtype=bool) for pos in frame.columns}
    for pos, values in distinct.items():
        bad_by_pos[pos] |= check_pii(values, rows, file, label_of.get(pos, names[pos] or f"#{pos + 1}"), problems)
    keep = drop_totals(table, {label_of[p]: v for p, v in distinct.items() if p in label_of}, rows, file, problems)

    dropped = not keep.all()
    frame = pd.DataFrame({name: frame[pos] for name, pos in columns.items()})
    if dropped:
        frame = frame[keep].reset_index(drop=True)
    rows = rows[keep]
    bad = {name: bad_by_pos[pos][keep] for name, pos in columns.items()}

    converted, coded = {}, {}
    for spec in table.columns:
        if spec.name not in frame.columns:
            continue
        column = distinct.get(columns[spec.name])
        if column is not None and dropped:
            column = column.subset(keep)
        converted[spec.name], failed, coded_column = convert(spec, frame[spec.name], column, rows, file, problems)
        bad[spec.name] |= failed
        if coded_column is not None:
            coded[spec.name] = coded_column
    loaded = Loaded(table, file, pd.DataFrame(converted), rows, bad, coded)
    check_required(loaded, problems)
    check_values(loaded, problems)
    check_duplicates(loaded, problems)
    check_counts_within(loaded, problems)
    return loaded


def _match_columns(
    table: Table, names: list[str], frame: pd.DataFrame, file: str, header_row: int, problems: ProblemList
) -> dict[str, int] | None:
    """Map contract column names to positions in the file; report missing, extra and renamed ones."""
    by_norm = {normalise_name(c): c for c in table.column_names}
    if not any(normalise_name(name) in by_norm for name in names):
        shown = ", ".join(f"'{n}'" for n in names[:6] if n) or "nothing"
        separator = next((sep for sep in (";", "\t", "|") if any(sep in n for n in names)), None)
        hint = f" The file looks separated by {separator!r}: save it as comma-separated CSV." if separator else ""
        problems.add(
            file,
            None,
            None,
            f"no header row with this table's column names in the first {HEADER_SEARCH_ROWS} rows "
            f"(the first row holds {shown}); expected columns: {', '.join(table.column_names)}.{hint}",
        )
        return None
    matched: dict[str, int] = {}
    for pos, name in enumerate(names):
        if name in table.column_names:
            target = name
        elif normalise_name(name) in by_norm and name:
            target = by_norm[normalise_name(name)]
            problems.add(
                file, header_row, name, f"column '{name}' read as '{target}'; please use the contract's name", "warning"
            )
        else:
            has_data = len(frame) and pos in frame.columns and _has_values(frame[pos])
            if pii_column(name):
                problems.add(
                    file,
                    header_row,
                    name,
                    "looks like patient-level data (NHS number, date of birth or postcode); "
                    "the tables must hold aggregate counts only: remove this column",
                )
            elif not name or name.lower().startswith("unnamed"):
                if has_data:
                    problems.add(
                        file, header_row, f"#{pos + 1}", "column has values but no header; it is ignored", "warning"
                    )
            else:
                problems.add(
                    file,
                    header_row,
                    name,
                    f"column '{name}' is not in the contract for {table.name}; it is ignored",
                    "warning",
                )
            continue
        if target in matched:
            problems.add(file, header_row, target, f"column {target} appears more than once")
            continue
        matched[target] = pos
    missing = [c.name for c in table.columns if c.name not in matched and not c.may_be_absent]
    for name in missing:
        problems.add(
            file, header_row, name, f"missing column {name} (expected columns: {', '.join(table.column_names)})"
        )
    return {name: matched[name] for name in table.column_names if name in matched}


def _has_values(series: pd.Series) -> bool:
    if series.dtype.kind in "OUT" or pd.api.types.is_string_dtype(series):
        return bool((series.astype(TEXT_DTYPE).str.strip().fillna("") != "").any())
    return bool(series.notna().any())


def _is_text(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.api.types.is_string_dtype(series.cat.categories) or series.cat.categories.dtype == object
    return pd.api.types.is_string_dtype(series) or series.dtype == object


# -- typed frames ----------------------------------------------------------------------------


def _typed(table: Table, loaded: Loaded) -> pd.DataFrame:
    """The frame in the typed-frame convention (only called for a table with no errors)."""
    source = loaded.frame
    frame = pd.DataFrame(
        {
            # An optional column the file left out is all blank.
            c.name: source[c.name].astype(contract.typed_dtype(c))
            if c.name in source.columns
            else pd.Series([None] * len(source), index=source.index, dtype=object).astype(contract.typed_dtype(c))
            for c in table.columns
        }
    ).reset_index(drop=True)
    return contract.SCHEMAS[table.name].validate(frame, inplace=True)
