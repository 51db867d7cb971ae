"""Finding a data folder's table files and reading them as text: CSV, Excel and Parquet.

CSV bytes are decoded (UTF-8 with or without BOM, or Windows-1252) and the header row is found
among the first rows of a CSV or sheet; each reader returns the records with the row number the
analyst sees for each. Problems that stop a file being read are added to a :class:`ProblemList`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.contract import CONTRACT, Table
from helpers.problems import DataError, Problem, ProblemList

SUFFIXES = (".csv", ".xlsx", ".parquet")
HEADER_SEARCH_ROWS = 10  # the header may sit this far down an Excel sheet or CSV
# Bytes Windows-1252 leaves undefined: their presence means the file is in no accepted encoding.
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_UTF8_MULTIBYTE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


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
    return {table: found[table][0] for table in CONTRACT if table in found}


# -- reading files ---------------------------------------------------------------------------


def normalise_name(name: str) -> str:
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
    wanted = {normalise_name(n) for n in expected}

    def hits(row: list[str]) -> int:
        return len(wanted & {normalise_name(str(v)) for v in row})

    def combined(upper: list[str], lower: list[str]) -> list[str]:
        width = max(len(upper), len(lower))
        upper, lower = upper + [""] * (width - len(upper)), lower + [""] * (width - len(lower))
        return [
            b if normalise_name(b) in wanted or normalise_name(a) not in wanted and b.strip() else a
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


def read_csv(path: Path, table: Table, problems: ProblemList) -> tuple[pd.DataFrame, np.ndarray] | None:
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


def read_xlsx(path: Path, table: Table, problems: ProblemList) -> tuple[pd.DataFrame, np.ndarray] | None:
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


def read_parquet(path: Path, problems: ProblemList) -> pd.DataFrame | None:
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
