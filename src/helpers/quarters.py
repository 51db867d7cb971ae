"""NHS financial-year quarters.

The NHS financial year runs 1 April to 31 March. ``2026/27 Q2`` is July-September 2026 and
``2026/27 Q4`` is January-March 2027. Labels display as ``2026/27 Q2``; the file-safe id is
``2026-27-Q2``. :func:`parse` also accepts ``2026/27Q2`` and ``FY2026/27 Q2``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a function needs it: the build tool reads quarters fast
    import pandas as pd

ACCEPTED_FORMS = "'2026/27 Q2', '2026/27Q2', 'FY2026/27 Q2' or '2026-27-Q2'"

_LABEL = re.compile(
    r"""^\s*(?:FY\s*)?(?P<start>\d{4})\s*[/-]\s*(?P<end>\d{2})\s*[-\s]?\s*Q(?P<q>[1-4])\s*$""",
    re.IGNORECASE,
)


# The pre-Covid baseline (studies open against it): the quarters of 2019/20. Defined here, not with
# the KPIs, so the build tool reads it without importing pandas.
BASELINE_PERIOD = "2019-20-Q1..2019-20-Q4"


class QuarterError(ValueError):
    """A quarter label that cannot be read."""


@dataclass(frozen=True, order=True)
class Quarter:
    """One NHS financial-year quarter: ``fy_start`` is the calendar year the financial year starts in."""

    fy_start: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise QuarterError(f"quarter number must be 1-4, got {self.q}")
        if not 1900 <= self.fy_start <= 2999:
            raise QuarterError(f"financial year out of range: {self.fy_start}")

    # -- labels -----------------------------------------------------------------------------
    @property
    def fy_label(self) -> str:
        """The financial year, e.g. ``2026/27``."""
        return f"{self.fy_start}/{(self.fy_start + 1) % 100:02d}"

    @property
    def label(self) -> str:
        """Display label, e.g. ``2026/27 Q2``."""
        return f"{self.fy_label} Q{self.q}"

    @property
    def id(self) -> str:
        """File-safe id, e.g. ``2026-27-Q2``."""
        return f"{self.fy_start}-{(self.fy_start + 1) % 100:02d}-Q{self.q}"

    def __str__(self) -> str:
        return self.label

    # -- dates ------------------------------------------------------------------------------
    @property
    def start(self) -> dt.date:
        """First day of the quarter."""
        month = 4 + 3 * (self.q - 1)
        year = self.fy_start
        if month > 12:
            month -= 12
            year += 1
        return dt.date(year, month, 1)

    @property
    def end(self) -> dt.date:
        """Last day of the quarter."""
        return self.next().start - dt.timedelta(days=1)

    @property
    def months(self) -> list[dt.date]:
        """First day of each of the quarter's three months."""
        start = self.start
        return [dt.date(start.year + (start.month + i - 1) // 12, (start.month + i - 1) % 12 + 1, 1) for i in range(3)]

    # -- arithmetic -------------------------------------------------------------------------
    @property
    def ordinal(self) -> int:
        """Quarters since year 0, so that differences count quarters."""
        return self.fy_start * 4 + (self.q - 1)

    @classmethod
    def from_ordinal(cls, ordinal: int) -> Quarter:
        return cls(ordinal // 4, ordinal % 4 + 1)

    def shift(self, n: int) -> Quarter:
        """The quarter ``n`` quarters later (earlier when negative)."""
        return Quarter.from_ordinal(self.ordinal + n)

    def next(self) -> Quarter:
        return self.shift(1)

    def previous(self) -> Quarter:
        return self.shift(-1)

    def same_quarter_last_year(self) -> Quarter:
        return self.shift(-4)

    def financial_year(self) -> list[Quarter]:
        """The four quarters of this quarter's financial year."""
        return [Quarter(self.fy_start, q) for q in range(1, 5)]

    def contains(self, day: dt.date | pd.Timestamp) -> bool:
        day = _as_date(day)
        return self.start <= day <= self.end

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def of_date(cls, day: dt.date | pd.Timestamp | str) -> Quarter:
        """The quarter a date falls in."""
        day = _as_date(day)
        fy_start = day.year if day.month >= 4 else day.year - 1
        q = ((day.month - 4) % 12) // 3 + 1
        return cls(fy_start, q)


def _as_date(day: dt.date | pd.Timestamp | str) -> dt.date:
    if isinstance(day, dt.datetime):  # pandas Timestamps too
        return day.date()
    if isinstance(day, dt.date):
        return day
    import pandas as pd  # any other form pandas reads (text, numpy datetimes)

    return pd.Timestamp(day).date()


def parse(label: str | Quarter) -> Quarter:
    """Read a quarter label in any accepted form; a :class:`Quarter` passes through."""
    if isinstance(label, Quarter):
        return label
    if not isinstance(label, str):
        raise QuarterError(f"a quarter label must be text like {ACCEPTED_FORMS}, got {label!r}")
    match = _LABEL.match(label)
    if not match:
        raise QuarterError(f"cannot read quarter {label!r}: write it like {ACCEPTED_FORMS}")
    start, end = int(match["start"]), int(match["end"])
    if (start + 1) % 100 != end:
        raise QuarterError(
            f"cannot read quarter {label!r}: a financial year runs from one calendar year into the next "
            f"(e.g. {start}/{(start + 1) % 100:02d}); write it like {ACCEPTED_FORMS}"
        )
    return Quarter(start, int(match["q"]))


def quarter_range(first: str | Quarter, last: str | Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last`` inclusive."""
    first, last = parse(first), parse(last)
    if last < first:
        raise QuarterError(f"quarter range runs backwards: {first} .. {last}")
    return [Quarter.from_ordinal(o) for o in range(first.ordinal, last.ordinal + 1)]


def parse_range(text: str) -> list[Quarter]:
    """Read ``2025-26-Q1..2026-27-Q2`` (or a single quarter) as a list of quarters."""
    if ".." in text:
        first, last = text.split("..", 1)
        return quarter_range(first, last)
    return [parse(text)]


def current_date() -> dt.date:
    """The current date, or ``BOARDPACK_TODAY`` (an ISO date) when set: a rerun, a test or a kernel
    can fix the date that "the latest complete quarter" is counted from."""
    frozen = os.environ.get("BOARDPACK_TODAY", "").strip()
    if not frozen:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(frozen)
    except ValueError as exc:
        raise QuarterError(f"BOARDPACK_TODAY={frozen!r} is not a date written as YYYY-MM-DD") from exc


def latest_complete(today: dt.date | None = None) -> Quarter:
    """The last quarter that has fully ended before ``today`` (default: :func:`current_date`)."""
    today = today or current_date()
    return Quarter.of_date(today).previous()


def quarter_of_dates(dates: pd.Series) -> pd.Series:
    """Vectorised: the quarter id (``2026-27-Q2``) of each date in a Series."""
    import pandas as pd

    dates = pd.to_datetime(dates)
    fy_start = dates.dt.year - (dates.dt.month < 4).astype(int)
    q = ((dates.dt.month - 4) % 12) // 3 + 1
    return fy_start.astype(str) + "-" + ((fy_start + 1) % 100).map("{:02d}".format) + "-Q" + q.astype(str)
