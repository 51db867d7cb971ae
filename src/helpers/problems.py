"""Problems found in a data folder: where each is, what is wrong, and the plain-text report.

:class:`ProblemList` collects them while a folder is read and checked, one message per failing row
up to :data:`MAX_MESSAGES` per (file, column, kind of problem), the rest counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # imported where used: the build tool catches DataError without loading pandas
    import numpy as np

MAX_MESSAGES = 20  # per (file, column, kind of problem); the rest are counted


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


class ProblemList:
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
        import numpy as np

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


def plain(value: object) -> str:
    """A value as a message shows it (dates as YYYY-MM-DD)."""
    if isinstance(value, dt.date):  # pandas Timestamps too (a datetime subclass)
        return value.strftime("%Y-%m-%d")
    if type(value).__name__ == "datetime64":  # a numpy date
        import pandas as pd

        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return str(value)
