"""How fresh the data are: when each table was extracted, how far its data reach, which are stale.

A data folder may hold one optional **extract file**, ``extract.yml`` (or ``extract.yaml`` or
``extract.json``), saying when the tables were extracted (docs/data_contract.md)::

    extracted: 2026-10-14        # every table, unless named below
    tables:                      # optional: tables extracted on another day
      finance: 2026-10-02

:func:`read_extract` reads and checks it (every problem names the file); :func:`helpers.loading.check_data`
reports those problems with the data's, so ``boardpack validate`` and the build stop on a bad file.

:func:`freshness` gives, per table dated by month or quarter, the last day its data cover (the end
of its last month or quarter) and flags it **stale** when that day is more than
``stale_after_days`` (the ``stale_after_days`` parameter, default 45) before the end of the
quarter reported. :func:`cover_line` says it for the cover: "data to 30 Sep 2026, extracted
14 Oct 2026"; :func:`stale_sentences` for the summary.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from helpers.contract import CONTRACT, PERIODIC_TABLES
from helpers.problems import Problem
from helpers.quarters import Quarter, parse

EXTRACT_FILE_NAMES = ("extract.yml", "extract.yaml", "extract.json")
STALE_AFTER_DAYS = 45  # the default of the stale_after_days parameter (params/defaults.yml)
FRESHNESS_COLUMNS = ["Table", "DataTo", "Extracted", "DaysShort", "Stale"]


class ExtractFileError(ValueError):
    """An extract file that cannot be used; the message names the file and every problem."""


@dataclass(frozen=True)
class ExtractDates:
    """The extract file's dates: ``extracted`` for every table, ``tables`` for those extracted apart."""

    file: Path
    extracted: dt.date | None = None
    tables: Mapping[str, dt.date] = field(default_factory=dict)

    def for_table(self, table: str) -> dt.date | None:
        """The day ``table`` was extracted (its own date, else the folder's), None when not given."""
        return self.tables.get(table, self.extracted)


def short_date(day: dt.date) -> str:
    """``30 Sep 2026``: the cover line's dates (day, abbreviated month, year)."""
    return f"{day.day} {day:%b %Y}"


def _as_date(value: object) -> dt.date | None:
    """A date from YAML (a date) or JSON (text ``YYYY-MM-DD``); None when it is not one."""
    if isinstance(value, dt.datetime):
        return None  # a time of day: not a date
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def extract_file(folder: str | Path) -> Path | None:
    """The folder's extract file, None when it has none (several: the first; :func:`read_extract` reports it)."""
    found = [Path(folder) / name for name in EXTRACT_FILE_NAMES if (Path(folder) / name).is_file()]
    return found[0] if found else None


def read_extract(folder: str | Path) -> tuple[ExtractDates | None, list[Problem]]:
    """The folder's extract file (None when it has none) and its problems, each naming the file.

    With any problem the dates are None: a half-read file is not used."""
    folder = Path(folder)
    found = [folder / name for name in EXTRACT_FILE_NAMES if (folder / name).is_file()]
    if not found:
        return None, []
    path = found[0]
    name = path.name
    problems: list[Problem] = []

    def problem(column: str | None, message: str) -> None:
        problems.append(Problem(name, None, column, message))

    if len(found) > 1:
        problem(None, f"one extract file per folder: found {', '.join(p.name for p in found)}; keep one")
        return None, problems
    text = path.read_text(encoding="utf-8-sig")
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        problem(None, f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}")
        return None, problems
    example = "write it like 'extracted: 2026-10-14' (and optionally 'tables:' with a date per table)"
    if not isinstance(raw, dict):
        problem(None, f"expected the fields 'extracted' and/or 'tables'; {example}")
        return None, problems
    unknown = sorted(str(k) for k in raw if k not in ("extracted", "tables"))
    if unknown:
        problem(None, f"unknown field(s) {', '.join(unknown)}: the fields are 'extracted' and 'tables'")
    extracted = None
    if "extracted" in raw:
        extracted = _as_date(raw["extracted"])
        if extracted is None:
            problem("extracted", f"{raw['extracted']!r} is not a date written as YYYY-MM-DD")
    tables: dict[str, dt.date] = {}
    given = raw.get("tables")
    if given is not None and not isinstance(given, dict):
        problem("tables", "expected one 'table: YYYY-MM-DD' line per table")
    for table, value in (given or {}).items() if isinstance(given, dict) else ():
        if table not in CONTRACT:
            problem(f"tables.{table}", f"unknown table {table!r}: the tables are {', '.join(CONTRACT)}")
            continue
        day = _as_date(value)
        if day is None:
            problem(f"tables.{table}", f"{value!r} is not a date written as YYYY-MM-DD")
        else:
            tables[table] = day
    if "extracted" not in raw and not given and not problems:
        problem(None, f"no date given; {example}")
    if problems:
        return None, problems
    return ExtractDates(path, extracted, tables), []


def load_extract(folder: str | Path) -> ExtractDates | None:
    """:func:`read_extract`, raising :class:`ExtractFileError` (naming the file) on any problem."""
    extract, problems = read_extract(folder)
    if problems:
        raise ExtractFileError(
            f"{Path(folder) / problems[0].file}: " + "; ".join(str(p).split(": ", 1)[1] for p in problems)
        )
    return extract


def check_extract(extract: ExtractDates | None, quarter: str | Quarter) -> list[Problem]:
    """Warnings for extract dates before the end of the quarter reported (its last days may be missing)."""
    if extract is None:
        return []
    quarter = parse(quarter)
    out = []
    dates = ([("extracted", extract.extracted)] if extract.extracted else []) + [
        (f"tables.{t}", d) for t, d in extract.tables.items()
    ]
    for column, day in dates:
        if day <= quarter.end:
            out.append(
                Problem(
                    extract.file.name,
                    None,
                    column,
                    f"extracted {day.isoformat()}, before {quarter.label} ended ({quarter.end.isoformat()}): "
                    "was the extract taken too early?",
                    "warning",
                )
            )
    return out


# -- how far the data reach ---------------------------------------------------------------------


def _period_column(table: str) -> tuple[str, str] | None:
    """(column, kind) dating a table's rows by month or quarter (a plan's due quarter does not count)."""
    for column in CONTRACT[table].columns:
        if column.kind in ("month", "quarter") and not column.future_allowed:
            return column.name, column.kind
    return None


def data_to(frame: pd.DataFrame | None, table: str) -> dt.date | None:
    """The last day ``table``'s data cover: the end of its last month or quarter; None for a table
    not dated by month or quarter, or with no rows."""
    period = _period_column(table)
    if frame is None or period is None or frame.empty:
        return None
    column, kind = period
    values = frame[column].dropna()
    if values.empty:
        return None
    if kind == "month":
        last = pd.Timestamp(values.max())
        return (last + pd.offsets.MonthEnd(0)).date()
    return max(parse(str(q)) for q in values.unique()).end


def freshness(
    data,
    quarter: str | Quarter,
    extract: ExtractDates | None = None,
    stale_after_days: int = STALE_AFTER_DAYS,
    tables: Iterable[str] = PERIODIC_TABLES,
) -> pd.DataFrame:
    """One row per table dated by month or quarter that ``data`` holds (columns :data:`FRESHNESS_COLUMNS`):
    ``DataTo`` the last day its data cover, ``Extracted`` its extract date (None without an extract
    file), ``DaysShort`` the days from ``DataTo`` to the quarter's end, ``Stale`` when more than
    ``stale_after_days``."""
    if isinstance(stale_after_days, bool) or not isinstance(stale_after_days, int) or stale_after_days < 0:
        raise ValueError(f"stale_after_days must be a whole number of days, 0 or more; got {stale_after_days!r}")
    quarter = parse(quarter)
    rows = []
    for table in tables:
        frame = getattr(data, table, None)
        if frame is None:
            continue
        last = data_to(frame, table)
        short = None if last is None else (quarter.end - last).days
        rows.append(
            {
                "Table": table,
                "DataTo": last,
                "Extracted": extract.for_table(table) if extract else None,
                "DaysShort": short,
                "Stale": short is not None and short > stale_after_days,
            }
        )
    return pd.DataFrame(rows, columns=FRESHNESS_COLUMNS)


def stale_tables(fresh: pd.DataFrame) -> list[str]:
    """The tables :func:`freshness` flags stale, in its order."""
    return [str(t) for t in fresh.loc[fresh["Stale"].astype(bool), "Table"]]


def cover_line(fresh: pd.DataFrame) -> str:
    """For the cover: ``data to 30 Sep 2026, extracted 14 Oct 2026``.

    "data to" is the last day every table covers (the earliest of their ``DataTo``); "extracted"
    the extract date, or ``between`` the first and last when tables were extracted on different
    days; left out without an extract file. Empty when no table is dated."""
    covered = [d for d in fresh["DataTo"] if d is not None and not pd.isna(d)]
    if not covered:
        return ""
    line = f"data to {short_date(min(covered))}"
    extracted = sorted({d for d in fresh["Extracted"] if d is not None and not pd.isna(d)})
    if len(extracted) == 1:
        line += f", extracted {short_date(extracted[0])}"
    elif extracted:
        line += f", extracted between {short_date(extracted[0])} and {short_date(extracted[-1])}"
    return line


def stale_sentences(fresh: pd.DataFrame, quarter: str | Quarter) -> list[str]:
    """A sentence per stale table for the summary, e.g. ``The recruitment data stop at 31 Jul 2026,
    61 days before 2026/27 Q2 ended (30 Sep 2026): its figures may be incomplete.``"""
    quarter = parse(quarter)
    out = []
    for _, row in fresh[fresh["Stale"].astype(bool)].iterrows():
        out.append(
            f"The {row['Table']} data stop at {short_date(row['DataTo'])}, {int(row['DaysShort'])} days before "
            f"{quarter.label} ended ({short_date(quarter.end)}): its figures may be incomplete."
        )
    return out
