"""Scan every file of a published pack for what must never be published.

:func:`scan_pack` reads each file of a pack folder (HTML/SVG, PDF text and links, XLSX, CSV, JSON,
plain text) and returns a :class:`Finding` for each of:

``nhs_number``
    10 digits passing the NHS modulus-11 check, written ``9434765919``, ``943 476 5919`` or
    ``943-476-5919`` (not touching other letters or digits, so hashes and ids do not match).
``postcode``
    a full UK postcode in capitals, with or without the space (``M1 1AE``, ``SW1A1AA``).
``forbidden_value``
    any of the caller's ``forbidden_values`` (dates of birth, names, identifiers from the input);
    a date is also looked for as ``2001-02-03``, ``03/02/2001``, ``3/2/2001``, ``3 February 2001``,
    ``03 Feb 2001``, ``03-02-2001`` and ``03.02.2001``. Case-insensitive.
``script``
    a ``<script>`` element whose text is not allow-listed (by sha256), any ``<script src>``,
    JavaScript in a PDF.
``event_handler``
    any ``on*=`` attribute.
``javascript_url``
    a ``javascript:`` or ``vbscript:`` URL in any attribute, CSS ``url()`` or link.
``external_url``
    a src/href-like URL that is not ``#...``, ``data:`` or a relative link that stays inside the
    pack (PDF link annotations and XLSX hyperlinks too).
``active_content``
    ``<iframe>``, ``<object>``, ``<embed>``, ``<base>``, ``<form>``, ``<meta http-equiv=refresh>``,
    ``data:text/html`` or ``data:`` JavaScript.
``small_count``
    a count of 1-7 people in a table (see below).
``formula``
    a spreadsheet formula in the XLSX, or CSV/XLSX text beginning ``= + - @`` (or tab/CR) that is
    not a plain number (the build prefixes such text with ``'``).
``unreadable_file`` / ``unscanned_file``
    a file the scanner cannot read, or of a type it does not know: never silently skipped.

**Counts of people.** Disclosure control (``helpers.disclosure``) shows 1-7 people as ``*`` and
rounds other counts to 5, so no published people count is 1-7. A table column counts people when
its header, split into lower-case words (``ResearchActiveStaff`` -> research active staff), holds
a word of :data:`PEOPLE_WORDS` or the phrase "joint appointments" or "rolling 12 months", and no
word of :data:`NOT_PEOPLE_WORDS` (``ParticipantPct``, ``Rolling12MonthsGBP``, ``MedianDays`` are not
counts). In long tables (a ``Measure`` column and a ``Value`` column) a row counts people when one
of its text cells is a people-count measure of the data contract (``ppie_contributors``, ...) or
names people by the same rule; then every whole number in that row outside excluded columns is
checked. Headers: HTML ``<thead>`` rows (all header rows joined) or the first row; CSV the first
row; an XLSX sheet its first row, or its second when the first holds only a title. Extra column
names can be passed as ``people_columns``. Chart labels inside images are not read.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers.contract import PEOPLE_COUNT_MEASURES

PEOPLE_WORDS = frozenset(
    {
        "participant",
        "participants",
        "people",
        "person",
        "persons",
        "patient",
        "patients",
        "staff",
        "attendance",
        "attendances",
        "attendee",
        "attendees",
        "contributor",
        "contributors",
        "registration",
        "registrations",
        "registrant",
        "registrants",
        "headcount",
        "recruits",
        "individuals",
        "volunteers",
    }
)
PEOPLE_PHRASES = (("joint", "appointments"), ("rolling", "12", "months"))
NOT_PEOPLE_WORDS = frozenset(
    {
        "pct",
        "percent",
        "percentage",
        "share",
        "rate",
        "ratio",
        "per",
        "10000",
        "10k",
        "100000",
        "gbp",
        "income",
        "cost",
        "costs",
        "target",
        "baseline",
        "median",
        "mean",
        "average",
        "days",
        "rank",
        "id",
        "code",
        "year",
        "quarter",
        "month",
        "quintile",
        "decile",
        "imd",
        "change",
        "difference",
        "diff",
        "delta",
        "studies",
        "organisations",
        "sites",
        "practices",
    }
)
SMALL_COUNT_MAX = 7

_NHS_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?<!\d[.,])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![0-9A-Za-z/])(?![.,]\d)")
_POSTCODE = re.compile(
    r"(?<![0-9A-Za-z])(?:GIR ?0AA|[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRVWXY]?)"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})(?![0-9A-Za-z])"
)
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE | re.DOTALL)
_WHOLE_NUMBER = re.compile(r"^\s*\d{1,3}(?:,\d{3})*(?:\.0+)?\s*$|^\s*\d+(?:\.0+)?\s*$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?%?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x20]+")

# Attributes holding a URL the browser may fetch or follow.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "srcset",
        "action",
        "formaction",
        "poster",
        "data",
        "background",
        "cite",
        "longdesc",
        "xlink:href",
        "ping",
        "manifest",
        "codebase",
        "archive",
        "usemap",
        "lowsrc",
        "dynsrc",
    }
)
ACTIVE_ELEMENTS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "portal"})
# Attribute values that are read to people (besides the text): scanned for identifiers.
TEXT_ATTRIBUTES = ("alt", "title", "aria-label", "aria-description", "placeholder", "value", "content", "summary")


@dataclass(frozen=True)
class Finding:
    """One thing that must not be published: ``file`` (relative to the pack), where in it, what."""

    kind: str
    file: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.kind}: {self.detail}"


# -- identifiers in text ------------------------------------------------------------------------
def is_nhs_number(digits: str) -> bool:
    """True when ``digits`` (10 digits, spaces/hyphens ignored) passes the NHS modulus-11 check."""
    digits = re.sub(r"[ -]", "", digits)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _date_renderings(value: dt.date) -> set[str]:
    d, m, y = value.day, value.month, value.year
    month, mon = value.strftime("%B"), value.strftime("%b")
    return {
        value.isoformat(),
        f"{d:02d}/{m:02d}/{y}",
        f"{d}/{m}/{y}",
        f"{d:02d}-{m:02d}-{y}",
        f"{d:02d}.{m:02d}.{y}",
        f"{d} {month} {y}",
        f"{d:02d} {month} {y}",
        f"{d} {mon} {y}",
        f"{d:02d} {mon} {y}",
    }


def _as_date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _forbidden_patterns(values: Iterable[object]) -> list[tuple[re.Pattern, str]]:
    """One regex per forbidden value (all its renderings), with a masked label for reports."""
    patterns = []
    for index, value in enumerate(values, start=1):
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            renderings, text = _date_renderings(value), value.isoformat()
        else:
            text = " ".join(str(value).split())
            if len(text) < 4:
                raise ValueError(
                    f"forbidden value #{index} {text!r} is shorter than 4 characters: it would match everywhere"
                )
            day = _as_date(text)
            renderings = {text} | (_date_renderings(day) if day else set())
            if re.fullmatch(r"\d{10}", text):
                renderings.add(f"{text[:3]} {text[3:6]} {text[6:]}")
        alternatives = "|".join(re.escape(r) for r in sorted(renderings, key=len, reverse=True))
        pattern = re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])", re.IGNORECASE)
        patterns.append((pattern, f"input value #{index} ({_mask(text)})"))
    return patterns


def _mask(text: str) -> str:
    """Enough to find the value again, not enough to publish it in a log."""
    keep = 2 if len(text) > 6 else 1
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


class _Scanner:
    def __init__(
        self,
        pack_dir: Path,
        forbidden_values: Iterable[object],
        allowed_scripts: Iterable[str],
        people_columns: Iterable[str],
    ) -> None:
        self.pack_dir = pack_dir.resolve()
        self.forbidden = _forbidden_patterns(forbidden_values)
        self.allowed_scripts = {s.lower() for s in allowed_scripts}
        self.people_columns = {c.strip().lower() for c in people_columns}
        self.findings: list[Finding] = []

    def add(self, kind: str, file: Path, where: str, detail: str) -> None:
        self.findings.append(Finding(kind, file.relative_to(self.pack_dir).as_posix(), where, detail))

    # -- text ---------------------------------------------------------------------------------
    def text(self, text: str, file: Path, where: str | Callable[[], str]) -> None:
        """Identifiers in ``text``; ``where`` may be a function, worked out only for a finding."""
        if not text or not text.strip():
            return
        # Collapse runs of spaces but keep line breaks: numbers in adjacent table cells of
        # extracted PDF text ("117 262" then "2025/26" on the next line) are not one identifier.
        text = "\n".join(" ".join(line.split()) for line in text.splitlines())
        hits = [
            ("nhs_number", f"NHS number ending {m.group(4)}")
            for m in _NHS_NUMBER.finditer(text)
            if is_nhs_number(m.group(0))
        ]
        hits += [("postcode", f"postcode {m.group(0)[:-2]}**") for m in _POSTCODE.finditer(text)]
        hits += [("forbidden_value", label) for pattern, label in self.forbidden if pattern.search(text)]
        for kind, detail in hits:
            self.add(kind, file, where() if callable(where) else where, detail)

    # -- URLs ---------------------------------------------------------------------------------
    def url(self, url: str, file: Path, where: str) -> None:
        """Classify one URL found in ``file`` (relative links resolve against the file's folder)."""
        compact = _CONTROL.sub("", url).lower()  # browsers ignore whitespace/control characters here
        if compact.startswith(("javascript:", "vbscript:")):
            self.add("javascript_url", file, where, url.strip()[:80])
        elif compact.startswith("data:"):
            if compact.startswith(
                (
                    "data:text/html",
                    "data:application/xhtml",
                    "data:text/javascript",
                    "data:application/javascript",
                    "data:application/x-javascript",
                )
            ):
                self.add("active_content", file, where, url.strip()[:40])
        elif compact == "" or compact.startswith("#"):
            return
        elif _SCHEME.match(compact) or compact.startswith(("//", "/", "\\")):
            self.add("external_url", file, where, url.strip()[:120])
        else:
            target = (file.parent / url.strip().split("#")[0].split("?")[0]).resolve()
            if target != self.pack_dir and self.pack_dir not in target.parents:
                self.add("external_url", file, where, f"{url.strip()[:120]} (outside the pack)")

    def css(self, css: str, file: Path, where: str) -> None:
        for match in _CSS_URL.finditer(css):
            self.url(match.group(2) if match.group(2) is not None else match.group(4), file, where)
        if re.search(r"expression\s*\(|javascript:", _CONTROL.sub("", css), re.IGNORECASE):
            self.add("javascript_url", file, where, "script in CSS")

    # -- tables of people counts --------------------------------------------------------------
    def _counts_people(self, name: str) -> bool:
        if name.strip().lower() in self.people_columns:
            return True
        return _names_people(name)

    def table(self, header: list[str], rows: Iterable[tuple[str, list[object]]], file: Path, where: str) -> None:
        """Flag whole numbers 1-7 in people-count columns and in rows of people-count measures."""
        people = [self._counts_people(str(h)) for h in header]
        excluded = [bool(_words(str(h)) & NOT_PEOPLE_WORDS) for h in header]
        for row_where, cells in rows:
            measure_row = any(isinstance(c, str) and not _count_value(c) and _is_people_measure(c) for c in cells)
            for position, cell in enumerate(cells):
                in_people_column = position < len(people) and people[position]
                in_measure_row = measure_row and not (position < len(excluded) and excluded[position])
                if not (in_people_column or in_measure_row):
                    continue
                count = _count_value(cell)
                if count is not None and 1 <= count <= SMALL_COUNT_MAX:
                    column = header[position] if position < len(header) else f"column {position + 1}"
                    self.add(
                        "small_count",
                        file,
                        f"{where}{row_where}, column {column!r}",
                        f"{count} people (disclosure control shows 1-7 as *)",
                    )

    def formula_text(self, value: object, file: Path, where: str) -> None:
        if (
            isinstance(value, str)
            and value.startswith(_FORMULA_START)
            and len(value) > 1
            and not _PLAIN_NUMBER.match(value.strip())
        ):
            self.add("formula", file, where, f"text starting {value[:1]!r} not neutralised: {value[:40]!r}")

    # -- files --------------------------------------------------------------------------------
    def file(self, path: Path) -> None:
        suffix = path.suffix.lower()
        try:
            if suffix in (".html", ".htm", ".svg", ".xhtml"):
                self.html(path)
            elif suffix == ".pdf":
                self.pdf(path)
            elif suffix == ".xlsx":
                self.xlsx(path)
            elif suffix == ".csv":
                self.csv(path)
            elif suffix == ".json":
                self.json(path)
            elif suffix in (".txt", ".md"):
                self.text(path.read_text(encoding="utf-8"), path, "text")
            else:
                self.add("unscanned_file", path, "file", f"no scanner for {suffix or 'files without a suffix'}")
        except (UnicodeDecodeError, ValueError, OSError, KeyError) as exc:
            self.add("unreadable_file", path, "file", f"{type(exc).__name__}: {exc}")

    def html(self, path: Path) -> None:
        from bs4 import BeautifulSoup, Comment

        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag in soup.find_all(True):
            name = tag.name.lower()
            where = f"<{name}>"
            if name == "script":
                content = tag.string or ""
                digest = hashlib.sha256(content.strip().encode("utf-8")).hexdigest()
                if tag.get("src") is not None or digest not in self.allowed_scripts:
                    self.add(
                        "script",
                        path,
                        where,
                        f"src={tag.get('src')!r}"
                        if tag.get("src") is not None
                        else f"inline script sha256 {digest[:16]}…: {content.strip()[:60]!r}",
                    )
            elif name in ACTIVE_ELEMENTS:
                self.add("active_content", path, where, f"<{name}> element")
            elif name == "meta" and str(tag.get("http-equiv", "")).lower() == "refresh":
                self.add("active_content", path, where, "meta refresh")
            elif name == "style":
                self.css(tag.get_text(), path, where)
            for attribute, value in tag.attrs.items():
                value = " ".join(value) if isinstance(value, list) else str(value)
                attribute = attribute.lower()
                if attribute.startswith("on"):
                    self.add("event_handler", path, f"{where} {attribute}", value[:80])
                elif attribute == "style":
                    self.css(value, path, f"{where} style")
                elif attribute == "srcset":
                    for candidate in value.split(","):
                        self.url(candidate.strip().split(" ")[0], path, f"{where} srcset")
                elif attribute in URL_ATTRIBUTES:
                    self.url(value, path, f"{where} {attribute}")
                elif _CONTROL.sub("", value).lower().startswith(("javascript:", "vbscript:")):
                    self.add("javascript_url", path, f"{where} {attribute}", value[:80])
                if attribute in TEXT_ATTRIBUTES and not value.lstrip().lower().startswith("data:"):
                    self.text(value, path, f"{where} {attribute}")
        for string in soup.find_all(string=True):
            if isinstance(string, Comment):
                self.text(str(string), path, "HTML comment")
            elif string.parent is not None and string.parent.name not in ("script", "style") and str(string).strip():
                self.text(str(string), path, lambda s=string: f"text under {_heading_above(s)!r}")
        for number, element in enumerate(soup.find_all("table"), start=1):
            header, rows = _html_table(element)
            caption = element.find("caption")
            label = " ".join(caption.get_text().split())[:60] if caption else f"table {number}"
            self.table(header, rows, path, f"table {label!r}, ")

    def pdf(self, path: Path) -> None:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(path)
            pages = list(reader.pages)
        except PdfReadError as exc:
            self.add("unreadable_file", path, "file", f"PDF: {exc}")
            return
        root = reader.trailer["/Root"].get_object()
        names = root.get("/Names")
        if names is not None and "/JavaScript" in names.get_object():
            self.add("script", path, "document names", "embedded JavaScript")
        for key in ("/OpenAction", "/AA"):
            action = root.get(key)
            if action is not None and "/JS" in str(action.get_object()):
                self.add("script", path, f"document {key}", "JavaScript action")
        for number, page in enumerate(pages, start=1):
            self.text(page.extract_text() or "", path, f"page {number}")
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A")
                if action is None:
                    continue
                action = action.get_object()
                kind = action.get("/S")
                if kind == "/URI":
                    self.url(str(action.get("/URI")), path, f"page {number} link")
                elif kind in ("/JavaScript", "/Launch"):
                    self.add("script", path, f"page {number} link", f"{kind} action")

    def xlsx(self, path: Path) -> None:
        from zipfile import BadZipFile

        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(path, data_only=False)
        except (InvalidFileException, BadZipFile) as exc:
            self.add("unreadable_file", path, "file", f"XLSX: {exc}")
            return
        if getattr(workbook, "_external_links", None):
            self.add("external_url", path, "workbook", "links to external workbooks")
        for sheet in workbook.worksheets:
            grid: list[tuple[int, list[object]]] = []
            for row in sheet.iter_rows():
                values = []
                for cell in row:
                    where = f"sheet {sheet.title!r}, cell {cell.coordinate}"
                    value = cell.value
                    if cell.data_type == "f":
                        self.add("formula", path, where, f"formula {str(value)[:40]!r}")
                    else:
                        self.formula_text(value, path, where)
                    if cell.hyperlink is not None and cell.hyperlink.target:
                        self.url(cell.hyperlink.target, path, f"{where} hyperlink")
                    self.text(_cell_text(value), path, where)
                    values.append(value)
                grid.append((row[0].row if row else 0, values))
            grid = [(n, v) for n, v in grid if any(x not in (None, "") for x in v)]
            if not grid:
                continue
            first = [v for v in grid[0][1] if v not in (None, "")]
            start = 1 if len(first) == 1 and len(grid) > 1 else 0  # a title row above the header
            header = ["" if v is None else str(v) for v in grid[start][1]]
            rows = [(f"row {n}", values) for n, values in grid[start + 1 :]]
            self.table(header, rows, path, f"sheet {sheet.title!r}, ")

    def csv(self, path: Path) -> None:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
        for line, row in enumerate(rows, start=1):
            for position, value in enumerate(row):
                column = rows[0][position] if rows and position < len(rows[0]) and line > 1 else f"{position + 1}"
                where = f"row {line}, column {column!r}"
                self.formula_text(value, path, where)
                self.text(value, path, where)
        if rows:
            self.table(rows[0], [(f"row {n}", row) for n, row in enumerate(rows[1:], start=2)], path, "")

    def json(self, path: Path) -> None:
        def walk(node: object, where: str) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    self.text(str(key), path, f"{where or 'top'} key")
                    walk(value, f"{where}.{key}" if where else str(key))
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, f"{where}[{index}]")
            elif isinstance(node, (str, int)) and not isinstance(node, bool):
                self.text(str(node), path, where or "top")

        walk(json.loads(path.read_text(encoding="utf-8")), "")


def _heading_above(node) -> str:
    heading = node.find_previous(re.compile(r"^h[1-6]$"))
    return " ".join(heading.get_text().split())[:60] if heading is not None else "the top"


def _words(name: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(name)}


def _names_people(name: str) -> bool:
    words = [w.lower() for w in _WORDS.findall(name)]
    if set(words) & NOT_PEOPLE_WORDS:
        return False
    if set(words) & PEOPLE_WORDS:
        return True
    return any(_contains(words, phrase) for phrase in PEOPLE_PHRASES)


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1))


def _is_people_measure(text: str) -> bool:
    return text.strip().lower() in PEOPLE_COUNT_MEASURES or _names_people(text)


def _count_value(cell: object) -> int | None:
    """A cell as a whole number (``7``, ``"7"``, ``"1,234"``, ``7.0``), else None."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else None
    if isinstance(cell, str) and _WHOLE_NUMBER.match(cell):
        return int(float(cell.replace(",", "")))
    return None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expand(row) -> list[str]:
    cells = []
    for cell in row.find_all(["th", "td"], recursive=False):
        try:
            span = max(1, int(cell.get("colspan", 1)))
        except ValueError:
            span = 1
        cells.extend([" ".join(cell.get_text().split())] * span)
    return cells


def _html_table(table) -> tuple[list[str], list[tuple[str, list[object]]]]:
    """Header names (all header rows joined per column) and body rows, tfoot left out."""
    nested = set(map(id, table.find_all("table")))
    rows = [r for r in table.find_all("tr") if not any(id(p) in nested for p in r.parents if p is not table)]
    head_rows = [r for r in rows if r.find_parent("thead") is not None and r.find_parent("table") is table]
    foot_rows = [r for r in rows if r.find_parent("tfoot") is not None and r.find_parent("table") is table]
    body_rows = [r for r in rows if r not in head_rows and r not in foot_rows]
    if not head_rows and body_rows and not body_rows[0].find("td"):
        head_rows, body_rows = body_rows[:1], body_rows[1:]
    headers: list[str] = []
    for row in head_rows:
        for position, text in enumerate(_expand(row)):
            if position >= len(headers):
                headers.append(text)
            elif text and text not in headers[position]:
                headers[position] = f"{headers[position]} {text}".strip()
    return headers, [(f"body row {n}", _expand(r)) for n, r in enumerate(body_rows, start=1)]


def published_files(pack_dir: Path) -> Iterator[Path]:
    """Every file in the pack folder, in a stable order."""
    return iter(sorted(p for p in pack_dir.rglob("*") if p.is_file()))


def scan_pack(
    pack_dir: Path | str,
    *,
    forbidden_values: Iterable[object] = (),
    allowed_scripts: Iterable[str] = (),
    people_columns: Iterable[str] = (),
) -> list[Finding]:
    """Scan every file under ``pack_dir``; an empty list means nothing unsafe was found.

    ``forbidden_values``: strings or dates from the input that must not appear (dates of birth,
    identifiers). ``allowed_scripts``: sha256 hex digests of inline ``<script>`` texts (stripped)
    shipped deliberately; the pack ships none. ``people_columns``: extra column names that count
    people, beyond the naming rule.
    """
    pack = Path(pack_dir)
    if not pack.is_dir():
        raise FileNotFoundError(f"pack folder {pack} does not exist")
    scanner = _Scanner(pack, forbidden_values, allowed_scripts, people_columns)
    for path in published_files(scanner.pack_dir):
        scanner.file(path)
    return scanner.findings
