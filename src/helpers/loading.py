"""Load a quarter's data folder into typed frames, reporting every problem at once.

:func:`load_data` reads one file per table (CSV, Excel or Parquet), converts each column as
:mod:`helpers.contract` says, checks the values, the keys, the links between tables and the
quarter, and raises :class:`DataError` listing every problem (file, row as the analyst sees it,
column) when anything is wrong. Checks are vectorised; messages are built only for failing rows and
capped per (file, column, kind of problem).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from helpers import contract
from helpers.contract import CONTRACT, TABLES, TEXT_DTYPE, Column, Table
from helpers.paths import REFERENCE_DATA_DIR
from helpers.quarters import Quarter, QuarterError, parse

SUFFIXES = (".csv", ".xlsx", ".parquet")
MAX_MESSAGES = 20  # per (file, column, kind of problem); the rest are counted
HEADER_SEARCH_ROWS = 10  # the header may sit this far down an Excel sheet or CSV
# Bytes Windows-1252 leaves undefined: their presence means the file is in no accepted encoding.
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_UTF8_MULTIBYTE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")
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


# -- problems --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem found in the data: where it is and what is wrong."""

    file: str  # file name as in the data folder (or the table name when it has no file)
    row: int | None  # row as the analyst sees it (header row = 1); None for the whole file/column
    column: str | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.severity}: {self.message}"


def format_report(problems: Iterable[Problem], heading: str | None = None) -> str:
    """Plain-text report grouped by file: errors and warnings, row and column for each."""
    problems = list(problems)
    n_errors = sum(p.severity == "error" for p in problems)
    n_warnings = len(problems) - n_errors
    lines = [heading] if heading else []
    if not problems:
        lines.append("No problems found: the data meet the contract.")
        return "\n".join(lines)
    files = list(dict.fromkeys(p.file for p in problems))
    lines.append(
        f"{n_errors} error{'s' * (n_errors != 1)} and {n_warnings} warning{'s' * (n_warnings != 1)} "
        f"in {len(files)} file{'s' * (len(files) != 1)}"
    )
    for file in files:
        lines.append("")
        lines.append(file)
        for p in problems:
            if p.file != file:
                continue
            where = ", ".join(
                part
                for part in (
                    f"row {p.row}" if p.row is not None else "",
                    f"column {p.column}" if p.column is not None else "",
                )
                if part
            )
            label = "ERROR  " if p.severity == "error" else "warning"
            lines.append(f"  {label} {where + ': ' if where else ''}{p.message}")
    return "\n".join(lines)


class DataError(Exception):
    """The data folder does not meet the contract; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem], heading: str | None = None):
        self.problems = list(problems)
        super().__init__(format_report(self.problems, heading))


class _Problems:
    """Collects problems; caps row messages per (file, column, kind)."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, row: int | None, column: str | None, message: str, severity: str = "error") -> None:
        self.items.append(Problem(file, None if row is None else int(row), column, message, severity))  # type: ignore[arg-type]

    def add_rows(
        self,
        file: str,
        rows: np.ndarray,
        column: str | None,
        values: Iterable,
        describe: Callable[[object], str],
        summary: str,
        severity: str = "error",
        at_least: bool = False,
    ) -> None:
        """One problem per failing row, the first MAX_MESSAGES in full and the rest counted.

        ``at_least``: ``rows`` is a capped list, so the count of the rest is a lower bound.
        """
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        for row, value in zip(rows[:MAX_MESSAGES], values):
            self.add(file, row, column, describe(value), severity)
        if rows.size > MAX_MESSAGES:
            more = f"at least {rows.size - MAX_MESSAGES:,}" if at_least else f"{rows.size - MAX_MESSAGES:,}"
            self.add(file, None, column, f"... and {more} more rows: {summary}", severity)

    def errors_in(self, file: str) -> bool:
        return any(p.severity == "error" and p.file == file for p in self.items)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)


# -- finding files ---------------------------------------------------------------------------


def find_table_files(data_dir: str | Path) -> dict[str, Path]:
    """The file holding each table in ``data_dir`` (tables with no file are absent).

    Raises :class:`DataError` when the folder does not exist or a table has two files. Files that
    are not named after a table are ignored.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError([Problem(str(data_dir), None, None, "data folder not found (or not a folder)")])
    found: dict[str, list[Path]] = {}
    for path in sorted(data_dir.iterdir()):
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and suffix in SUFFIXES and stem in CONTRACT:
            found.setdefault(stem, []).append(path)
    problems = [
        Problem(
            table, None, None, f"two or more files for one table: {', '.join(p.name for p in paths)}; keep exactly one"
        )
        for table, paths in found.items()
        if len(paths) > 1
    ]
    if problems:
        raise DataError(problems)
    return {table: found[table][0] for table in TABLES if table in found}


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
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)


def load_data(data_dir: str | Path, quarter: str | Quarter | None = None, tables: Iterable[str] | None = None) -> Data:
    """Read and check the tables in ``data_dir``; raise :class:`DataError` listing every problem.

    ``quarter`` (the quarter reported) turns on the checks for rows dated after its end and for
    data that stop before it. ``tables`` limits the tables returned (default: all); the tables
    they refer to are read too, to check the links, but returned as None.
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
        raise ValueError(f"unknown table(s) {unknown}; the tables are {', '.join(TABLES)}")
    if quarter is not None:
        quarter = parse(quarter)
    to_read = _with_parents(requested)
    files = find_table_files(data_dir)
    problems = _Problems()
    loaded: dict[str, _Loaded] = {}
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
    _check_links(loaded, problems)
    if quarter is not None:
        _check_quarter(loaded, quarter, problems)
    data = Data(files={t: files[t] for t in to_read if t in files})
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
    return tuple(t for t in TABLES if t in needed)


# -- reading files ---------------------------------------------------------------------------


@dataclass
class _Loaded:
    """A table read and converted, not yet checked across tables: frame has a RangeIndex."""

    table: Table
    file: str
    frame: pd.DataFrame  # converted columns (contract names); rows of totals removed
    rows: np.ndarray  # the analyst's row number for each frame row
    bad: dict[str, np.ndarray]  # per column: rows already reported, skipped by later checks
    coded: dict[str, _Coded] = field(default_factory=dict)  # text-read columns, by distinct value

    def coded_column(self, name: str) -> _Coded:
        if name not in self.coded:
            self.coded[name] = _Coded.of(self.frame[name])
        return self.coded[name]


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """Text of a CSV file in UTF-8 (with or without BOM) or Windows-1252, or the reason not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "is UTF-16 encoded; save it as 'CSV UTF-8' (UTF-8) instead"
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        return (
            None,
            f"holds NUL bytes (line {line}): it is not a text file in UTF-8 or Windows-1252 (UTF-16 or binary?)",
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    line = data.count(b"\n", 0, first_bad) + 1
    undefined = [b for b in _CP1252_UNDEFINED if bytes([b]) in data]
    if undefined:
        return None, (
            f"is not in an accepted encoding (UTF-8 or Windows-1252): byte 0x{data[first_bad]:02X} on line {line} "
            f"is not valid UTF-8 and the file holds byte(s) {', '.join(f'0x{b:02X}' for b in undefined)} "
            "that Windows-1252 does not define"
        )
    if _UTF8_MULTIBYTE.search(data):
        return None, (
            f"mixes encodings: it holds UTF-8 characters but byte 0x{data[first_bad]:02X} on line {line} is not "
            "valid UTF-8; save the whole file as 'CSV UTF-8'"
        )
    return data.decode("cp1252"), None


def _find_header(rows: list[list[str]], expected: tuple[str, ...]) -> tuple[int, list[str]]:
    """The header among the first rows: (index of its last row, column names).

    The header is the row holding most of the expected column names, or two adjacent rows whose
    names together hold more (a two-row header: e.g. ``StudyId`` merged down over two rows beside
    a ``Recruitment`` group heading above ``Month`` and ``Participants``).
    """
    wanted = {_normalise_name(n) for n in expected}

    def hits(row: list[str]) -> int:
        return len(wanted & {_normalise_name(str(v)) for v in row})

    def combined(upper: list[str], lower: list[str]) -> list[str]:
        width = max(len(upper), len(lower))
        upper, lower = upper + [""] * (width - len(upper)), lower + [""] * (width - len(lower))
        return [
            b if _normalise_name(b) in wanted or _normalise_name(a) not in wanted and b.strip() else a
            for a, b in zip(upper, lower)
        ]

    head = [[str(v) for v in row] for row in rows[:HEADER_SEARCH_ROWS]]
    best, best_names, best_hits = 0, head[0] if head else [], -1
    for i, row in enumerate(head):
        candidates = [(i, row)]
        if i + 1 < len(head):
            candidates.append((i + 1, combined(row, head[i + 1])))
        for last, names in candidates:
            if hits(names) > best_hits:
                best, best_names, best_hits = last, names, hits(names)
    return best, [n.strip() for n in best_names]


def _read_csv(path: Path, table: Table, problems: _Problems) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The CSV's records as text (row 0 the header) and the line each record starts on."""
    text, reason = _decode(path.read_bytes())
    if text is None:
        line = re.search(r"line (\d+)", reason)
        problems.add(path.name, int(line[1]) if line else None, None, f"cannot read the file: it {reason}")
        return None
    if not text.strip():
        problems.add(path.name, None, None, "the file is empty: expected a header row and data rows")
        return None
    head = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:HEADER_SEARCH_ROWS]))))
    header_index, names = _find_header(head, table.column_names)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            skiprows=header_index,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            problems.add(
                path.name,
                int(match[2]) + header_index,
                None,
                f"row has {match[3]} values but the header has {match[1]} columns (a stray comma or an unquoted value?); "
                "the file was not read further",
            )
        else:
            problems.add(path.name, None, None, f"cannot read the CSV: {str(exc).strip()}")
        return None
    except pd.errors.EmptyDataError:
        problems.add(path.name, None, None, "the file is empty: expected a header row and data rows")
        return None
    return _with_header(frame, names), _record_lines(text, header_index, len(frame))


def _record_lines(text: str, header_index: int, n_records: int) -> np.ndarray:
    """Line number (1-based) each record starts on, from the header record on."""
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if n_lines - header_index == n_records:  # one line per record: the usual case, no scan needed
        return np.arange(n_records, dtype=np.int64) + header_index + 1
    # A quoted value holds a line break, so records and lines part company: count them.
    starts, reader, previous = [], csv.reader(io.StringIO(text, newline="")), 0
    try:
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:  # stray carriage returns: number the records instead
        starts = []
    lines = np.asarray(starts[header_index:], dtype=np.int64)
    return lines if len(lines) == n_records else np.arange(n_records, dtype=np.int64) + header_index + 1


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export would hold (dates ISO, whole floats without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _read_xlsx(path: Path, table: Table, problems: _Problems) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The first visible sheet's rows as text (row 0 the header) and their sheet row numbers."""
    import openpyxl  # imported here: only Excel inputs need it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or mislabelled file
        problems.add(path.name, None, None, f"cannot open as an Excel workbook (.xlsx): {exc}")
        return None
    try:
        visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
        if not visible:
            problems.add(path.name, None, None, "the workbook has no visible sheet")
            return None
        cells = [[_cell_text(v) for v in row] for row in visible[0].iter_rows(min_row=1, values_only=True)]
    finally:
        workbook.close()
    if not any(any(v.strip() for v in row) for row in cells):
        problems.add(path.name, None, None, f"the first visible sheet ('{visible[0].title}') is empty")
        return None
    header_index, names = _find_header(cells, table.column_names)
    width = max(len(r) for r in cells)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in cells[header_index:]], dtype=str)
    return _with_header(frame, names), np.arange(len(frame), dtype=np.int64) + header_index + 1


def _with_header(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Row 0 of ``frame`` replaced by the header's column names (the readers' common shape)."""
    names = (names + [""] * frame.shape[1])[: frame.shape[1]]
    frame.iloc[0, :] = names
    return frame


def _read_parquet(path: Path, problems: _Problems) -> pd.DataFrame | None:
    import pyarrow as pa_arrow
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        text_columns = [
            f.name for f in schema if pa_arrow.types.is_string(f.type) or pa_arrow.types.is_large_string(f.type)
        ]
        # Text read dictionary-encoded: a big file repeats few distinct codes, so checks run on those.
        table = pq.read_table(path, read_dictionary=text_columns)
        return table.to_pandas(ignore_metadata=True)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        problems.add(path.name, None, None, f"cannot read as Parquet: {exc}")
        return None


def _pii_column(name: str) -> bool:
    norm = _normalise_name(name)
    return norm in _PII_COLUMN_NAMES or any(word in norm for word in _PII_COLUMN_WORDS)


def _load_table(table: Table, path: Path, problems: _Problems) -> _Loaded | None:
    """Read one file, match its columns to the contract and convert them."""
    file = path.name
    if path.suffix.lower() == ".parquet":
        frame = _read_parquet(path, problems)
        if frame is None:
            return None
        frame = frame.reset_index(drop=True)
        header_row = 1
        names = [str(c) for c in frame.columns]
        frame.columns = range(len(names))
        rows = np.arange(len(frame), dtype=np.int64) + 2
    else:
        read = _read_csv(path, table, problems) if path.suffix.lower() == ".csv" else _read_xlsx(path, table, problems)
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
    distinct = {pos: _Distinct(frame[pos]) for pos in frame.columns if _is_text(frame[pos])}
    # PII first, in every text column (extra ones too): a flagged value is never echoed again.
    bad_by_pos = {pos: np.zeros(len(frame), dtype=bool) for pos in frame.columns}
    for pos, values in distinct.items():
        bad_by_pos[pos] |= _check_pii(values, rows, file, label_of.get(pos, names[pos] or f"#{pos + 1}"), problems)
    keep = _drop_totals(table, {label_of[p]: v for p, v in distinct.items() if p in label_of}, rows, file, problems)

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
        converted[spec.name], failed, coded_column = _convert(spec, frame[spec.name], column, rows, file, problems)
        bad[spec.name] |= failed
        if coded_column is not None:
            coded[spec.name] = coded_column
    loaded = _Loaded(table, file, pd.DataFrame(converted), rows, bad, coded)
    _check_required(loaded, problems)
    _check_values(loaded, problems)
    _check_duplicates(loaded, problems)
    return loaded


def _match_columns(
    table: Table, names: list[str], frame: pd.DataFrame, file: str, header_row: int, problems: _Problems
) -> dict[str, int] | None:
    """Map contract column names to positions in the file; report missing, extra and renamed ones."""
    by_norm = {_normalise_name(c): c for c in table.column_names}
    if not any(_normalise_name(name) in by_norm for name in names):
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
        elif _normalise_name(name) in by_norm and name:
            target = by_norm[_normalise_name(name)]
            problems.add(
                file, header_row, name, f"column '{name}' read as '{target}'; please use the contract's name", "warning"
            )
        else:
            has_data = len(frame) and pos in frame.columns and _has_values(frame[pos])
            if _pii_column(name):
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


# -- patient-level data and totals rows -----------------------------------------------------


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


def _is_text(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.api.types.is_string_dtype(series.cat.categories) or series.cat.categories.dtype == object
    return pd.api.types.is_string_dtype(series) or series.dtype == object


class _Distinct:
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

    def subset(self, keep: np.ndarray) -> _Distinct:
        return _Distinct(self.source[keep].reset_index(drop=True), self.codes[keep], self.values)

    def take(self, per_value: pd.Series) -> pd.Series:
        """One value per row from one per distinct value (missing where the row is blank)."""
        return pd.Series(per_value.array.take(self.codes, allow_fill=True))


@dataclass
class _Coded:
    """A converted column as codes into its distinct typed values (-1 for missing)."""

    codes: np.ndarray
    values: pd.Series

    @classmethod
    def of(cls, series: pd.Series) -> _Coded:
        codes, uniques = pd.factorize(series)
        return cls(codes, pd.Series(uniques))

    def rows_where(self, hit: np.ndarray) -> np.ndarray:
        return np.append(np.asarray(hit, dtype=bool), False)[self.codes]


def _check_pii(column: _Distinct, rows: np.ndarray, file: str, name: str, problems: _Problems) -> np.ndarray:
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


def _drop_totals(
    table: Table, columns: dict[str, _Distinct], rows: np.ndarray, file: str, problems: _Problems
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


# -- converting columns ----------------------------------------------------------------------


def _stripped(series: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed and blanks as missing."""
    text = series.astype(TEXT_DTYPE).str.strip()
    return text.mask(text == "")


def _convert(
    spec: Column, series: pd.Series, column: _Distinct | None, rows: np.ndarray, file: str, problems: _Problems
) -> tuple[pd.Series, np.ndarray, _Coded | None]:
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
    coded = _Coded(np.append(typed_codes, -1)[column.codes], pd.Series(typed_values))
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
        lambda v: f"month '{_plain(v)}' is not the first day of a month: write YYYY-MM",
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


def _plain(value: object) -> str:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return str(value)


# -- checks within a table -------------------------------------------------------------------


def _check_required(loaded: _Loaded, problems: _Problems) -> None:
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


def _check_values(loaded: _Loaded, problems: _Problems) -> None:
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
        describe, summary = (lambda v, c=check: f"'{_plain(v)}' {c}"), f"values that break the rule: {check}"
        capped = len(group) >= contract.FAILURE_CASES_CAP
        problems.add_rows(loaded.file, loaded.rows[positions], column, values, describe, summary, at_least=capped)
        loaded.bad[column][positions] = True


def _clean_key_rows(loaded: _Loaded, columns: Iterable[str]) -> np.ndarray:
    ok = np.ones(len(loaded.frame), dtype=bool)
    for column in columns:
        ok &= ~loaded.bad[column]
    return ok


def _key_ids(loaded: _Loaded, key: list[str]) -> np.ndarray | None:
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


def _check_duplicates(loaded: _Loaded, problems: _Problems) -> None:
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
        shown = ", ".join(f"{c}={_plain(loaded.frame[c].iat[p])}" for c in key)
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


def _check_links(loaded: dict[str, _Loaded], problems: _Problems) -> None:
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


def _check_recruiting_before_opening(loaded: dict[str, _Loaded], problems: _Problems) -> None:
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
        f"{recruitment.frame['StudyId'].iat[p]}|{_plain(recruitment.frame['Month'].iat[p])[:7]}|{_plain(study_opening.iat[p])[:7]}"
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


def _check_quarter(loaded: dict[str, _Loaded], quarter: Quarter, problems: _Problems) -> None:
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
                    f"'{_plain(v)}' is after the end of the quarter reported ({quarter}, ends {quarter.end:%d %b %Y})"
                ),
                f"rows dated after {quarter}",
            )
        if item.table.name in contract.PERIODIC_TABLES:
            _check_history_reaches(item, quarter, problems)


def _check_history_reaches(item: _Loaded, quarter: Quarter, problems: _Problems) -> None:
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


# -- typed frames ----------------------------------------------------------------------------


def _typed(table: Table, loaded: _Loaded) -> pd.DataFrame:
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
