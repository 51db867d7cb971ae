"""The real board pack, end to end: `boardpack build` on the sample data with the real section
notebooks and real kernels, in a temporary project root; then the published files are read back.

The pack is built once per session (``sample_pack`` in tests/conftest.py) and only read here: a
test that builds publishes to a folder of its own (``--out``). One bad input and one accepted input
go through the command line in ``make test``; the whole corpus is in the ``slow`` tier, and every
case also has a unit test in tests/test_loading.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import files_of, run_boardpack
from pypdf import PdfReader

from boardpack import scan
from boardpack.sections import SECTIONS
from helpers import paths
from helpers.loading import load_data
from helpers.quarters import parse
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets

pytestmark = pytest.mark.e2e
QUARTER = parse("2026/27 Q2")
ICB = "QWU"
BOARDPACK = [sys.executable, "-m", "boardpack"]


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_boardpack(root, *args)


@pytest.fixture
def pack(sample_pack):
    """The session's real sample pack (tests/conftest.py), read-only."""
    return sample_pack


class _Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.scripts = 0
        self.html_lang = None
        self._in_heading: int | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading = int(tag[1])
            self.headings.append((self._in_heading, ""))
        if tag == "img":
            self.images.append(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading = None

    def handle_data(self, data):
        if self._in_heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def _outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def test_pack_has_a_cover_and_every_section_in_plan_order(pack):
    outline = _outline(pack["html"])
    assert outline.html_lang == "en-GB"
    assert outline.headings[0][0] == 1
    h2 = [text.strip() for level, text in outline.headings if level == 2]
    titles = [s.title for s in SECTIONS]
    positions = [next(i for i, text in enumerate(h2) if title in text) for title in titles]
    assert positions == sorted(positions), h2
    assert "SAMPLE DATA" in pack["html"].upper()


def test_headings_never_skip_a_level(pack):
    levels = [level for level, _ in _outline(pack["html"]).headings]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels


def test_no_code_no_script_no_external_url(pack):
    outline = _outline(pack["html"])
    assert outline.scripts == 0
    external = [u for u in outline.urls if not (u.startswith("#") or u.startswith("data:"))]
    assert external == []
    # The inlined JupyterLab CSS names these classes; no element may carry them.
    # Markdown cells render inside jp-InputArea; code cells must leave no editor, prompt or source.
    assert not re.search(
        r'class="[^"]*\b(jp-InputPrompt|jp-OutputPrompt|jp-CodeMirrorEditor|highlight)\b', pack["html"]
    )
    assert "injected-parameters" not in pack["html"]
    assert "open_section(" not in pack["html"]  # the notebooks' code never reaches the pack


def test_every_figure_has_meaningful_alt_text(pack):
    images = _outline(pack["html"]).images
    assert len(images) >= 8
    for image in images:
        alt = (image.get("alt") or "").strip()
        assert len(alt) > 15 and "No description" not in alt, alt
        assert image["src"].startswith("data:image/")


def test_scorecard_figures_equal_what_the_helpers_compute(pack):
    """The published scorecard (appendix copy of the summary's table) equals the helpers' scorecard,
    computed here, in this process, from the same sample data: every KPI, value, change, target, RAG.
    The appendix holds the figures as numbers (rounded as shown, no float noise); the HTML in words."""
    from helpers.narrative import NUMBER_COLUMNS, scorecard_numbers, scorecard_view

    published = pd.read_csv(
        pack["folder"] / "appendix" / "00_summary_headline_kpis.csv", dtype=str, keep_default_na=False
    )
    data = load_data(pack["data"], QUARTER)
    scorecard = build_scorecard(data, QUARTER, ICB, load_targets(paths.PARAMS_DIR / "targets.yml"))
    expected = scorecard_numbers(scorecard)
    assert len(published) == len(scorecard) >= 15
    assert list(published.columns) == list(expected.columns)
    assert set(NUMBER_COLUMNS) | {"Unit"} <= set(published.columns)
    words = [c for c in expected.columns if c not in NUMBER_COLUMNS]
    assert published[words].values.tolist() == expected[words].astype(str).values.tolist()
    for column in NUMBER_COLUMNS:
        for kpi, cell, number in zip(expected["KPI"], published[column], expected[column]):
            if number is None:
                assert cell == "", (kpi, column, cell)
            elif isinstance(number, str):
                assert cell == number == "*", (kpi, column, cell)  # a suppressed count stays suppressed
            else:
                # Exactly the number the helpers give, written as Python writes it: 468, 112.3.
                assert cell == str(number) and float(cell) == number, (kpi, column, cell, number)
    # ...and the same figures, in words, are in the HTML the reviewers read.
    text = _text(pack["html"])
    shown = scorecard_view(scorecard)
    for label, latest in zip(shown["KPI"], shown["Latest"]):
        assert label in text and latest in text, (label, latest)


def _text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_pdf_and_appendix_are_published(pack):
    reader = PdfReader(pack["folder"] / "board_pack.pdf")
    assert len(reader.pages) >= 8
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 in points
    assert list((pack["folder"] / "appendix").glob("*.xlsx"))
    manifest = json.loads((pack["folder"] / "manifest.json").read_text())
    assert set(manifest) >= {"parameters", "inputs", "outputs", "sections", "git", "packages"}


def test_published_pack_passes_the_safety_scan(pack):
    findings = scan.scan_pack(pack["folder"])
    assert findings == [], findings


def test_second_build_hits_the_cache_for_every_section_and_changes_nothing(pack):
    assert pack["warm"].returncode == 0, pack["warm"].stdout + pack["warm"].stderr
    output = pack["warm"].stdout + pack["warm"].stderr  # the progress table may go to either
    for section in SECTIONS:
        line = next(text for text in output.splitlines() if section.id in text)
        assert "cached" in line, line
    assert files_of(pack["folder"]) == pack["before"]


def test_sample_pack_has_no_wcag_a_or_aa_violations_in_a_real_browser(pack, tmp_path):
    from boardpack.check import format_violations, run_axe

    report = run_axe(pack["folder"] / "board_pack.html", tmp_path / "axe.json")
    assert report["violations"] == [], format_violations(report)
    assert report["passes"], "axe ran no rule at all"
    assert report["blocked_requests"] == []  # the pack fetches nothing: it opens offline


# -- the bad-input corpus, at build level: exit 2 before any kernel, message names file/row/column,
#    the published pack stays byte-identical. Each case edits a copy of the sample data.
def _edit_line(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_bytes().split(b"\n")
    assert old.encode() in lines[line_no - 1], (path.name, line_no, lines[line_no - 1])
    lines[line_no - 1] = lines[line_no - 1].replace(old.encode(), new.encode(), 1)
    path.write_bytes(b"\n".join(lines))


def _second_recruitment_row(folder: Path) -> list[str]:
    return (folder / "recruitment.csv").read_text().splitlines()[1].split(",")


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _first_row(rows: list[list[str]], column: str, *tests) -> int:
    """Index in ``rows`` of the first data row whose ``column`` passes the first test that any row passes."""
    at = rows[0].index(column)
    for test in tests:
        found = next((i for i, row in enumerate(rows[1:], start=1) if test(row[at])), None)
        if found is not None:
            return found
    raise AssertionError(f"no row of the sample data fits this case ({column})")


def _iso_date(text: str, day_above_12: bool) -> bool:
    match = re.fullmatch(r"\d{4}-(\d\d)-(\d\d)", text)
    if not match:
        return False
    month, day = int(match[1]), int(match[2])
    return day > 12 if day_above_12 else (day <= 12 and day != month)


def _slashed_opening_date(folder: Path, literal: str, day_above_12: bool) -> dict:
    """studies.csv: one ActualOpeningDate among the ISO ones rewritten DD/MM/YYYY (``literal`` if the
    sample data hold it, else the first date of the same kind). Returns the row and the words expected
    if the date is rejected."""
    path = folder / "studies.csv"
    rows = _csv_rows(path)
    at = rows[0].index("ActualOpeningDate")
    i = _first_row(rows, "ActualOpeningDate", lambda v: v == literal, lambda v: _iso_date(v, day_above_12))
    year, month, day = rows[i][at].split("-")
    rows[i][at] = f"{day}/{month}/{year}"
    _write_csv(path, rows)
    return {"row": str(i + 1), "words": f"ambiguous date '{rows[i][at]}'"}


def _recruiting_before_opening(folder: Path) -> dict:
    """The study of recruitment.csv row 2 is given an ActualOpeningDate in the month after that row's Month."""
    study, _, month, _ = _second_recruitment_row(folder)
    year, mon = map(int, month.split("-"))
    opening = dt.date(year + mon // 12, mon % 12 + 1, 15)
    path = folder / "studies.csv"
    rows = _csv_rows(path)
    i = _first_row(rows, "StudyId", lambda v: v == study)
    rows[i][rows[0].index("ActualOpeningDate")] = opening.isoformat()
    _write_csv(path, rows)
    return {"words": f"study {study} recruits in {month}, before its ActualOpeningDate month ({opening:%Y-%m})"}


def _add_column(path: Path, name: str, value: str) -> None:
    rows = _csv_rows(path)
    _write_csv(path, [rows[0] + [name]] + [row + [value] for row in rows[1:]])


def _other_quarter(folder: Path, to: str) -> None:
    """Replace the extract by the sample data generated up to another quarter."""
    shutil.rmtree(folder)
    made = subprocess.run(
        [*BOARDPACK, "sample-data", "--icb", ICB, "--to", to, "--out", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr


def _recruitment_as_xlsx(folder: Path, layout: str) -> dict:
    """recruitment.csv replaced by recruitment.xlsx of the same table, as Excel holds it (codes as text,
    months as dates, counts as numbers), laid out as ``layout`` says."""
    import openpyxl

    rows = _csv_rows(folder / "recruitment.csv")
    header, records = rows[0], [[s, o, dt.datetime.strptime(m, "%Y-%m"), int(p)] for s, o, m, p in rows[1:]]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    result: dict = {}
    if layout in ("hidden sheet first", "data only on a hidden sheet"):
        sheet.title = "Old extract"  # a stale copy, hidden: never read
        sheet.append(header)
        for record in records[:50]:
            sheet.append([record[0], record[1], record[2], record[3] + 1000])
        sheet.sheet_state = "hidden"
        sheet = workbook.create_sheet("Notes" if layout == "data only on a hidden sheet" else "Recruitment")
        if layout == "data only on a hidden sheet":
            data_sheet = workbook.create_sheet("Recruitment")
            data_sheet.sheet_state = "hidden"
            sheet = data_sheet
    if layout == "two-row merged header":
        sheet.append(["StudyId", "OrganisationCode", "Recruitment", None])
        sheet.append([None, None, "Month", "Participants"])
        sheet.merge_cells("A1:A2")
        sheet.merge_cells("B1:B2")
        sheet.merge_cells("C1:D1")
    else:
        sheet.append(header)
    for n, record in enumerate(records, start=1):
        sheet.append(record)
        if layout == "totals row" and n == 100:
            sheet.append(["Total", None, None, sum(r[3] for r in records[:100])])
            result = {"row": str(sheet.max_row)}
    workbook.save(folder / "recruitment.xlsx")
    (folder / "recruitment.csv").unlink()
    return result


BAD_INPUTS = {
    # case: (edit, file, row, column, words in the message)
    "count n/a": (
        lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[3], ",n/a"),
        "recruitment.csv",
        "2",
        "Participants",
        "",
    ),
    "negative count": (
        lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[3], ",-3"),
        "recruitment.csv",
        "2",
        "Participants",
        "",
    ),
    "unknown organisation": (
        lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[1] + ",", ",ZZZ99,"),
        "recruitment.csv",
        "2",
        "OrganisationCode",
        "ZZZ99",
    ),
    "duplicate key": (
        lambda d: (d / "recruitment.csv").write_bytes(
            (d / "recruitment.csv").read_bytes() + (d / "recruitment.csv").read_text().splitlines()[1].encode() + b"\n"
        ),
        "recruitment.csv",
        "",
        "",
        "duplicate",
    ),
    "date after the quarter": (
        lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[2] + ",", ",2027-01,"),
        "recruitment.csv",
        "2",
        "Month",
        "",
    ),
    "wrong encoding": (
        lambda d: (d / "organisations.csv").write_bytes((d / "organisations.csv").read_text().encode("utf-16")),
        "organisations.csv",
        "",
        "",
        "UTF-16",
    ),
    "empty file": (lambda d: (d / "engagement.csv").write_bytes(b""), "engagement.csv", "", "", ""),
    "header-only file": (
        lambda d: (d / "engagement.csv").write_text((d / "engagement.csv").read_text().splitlines()[0] + "\n"),
        "engagement.csv",
        "",
        "",
        "",
    ),
    "missing table": (lambda d: (d / "workforce.csv").unlink(), "workforce", "", "", ""),
    "NHS number in a text field": (
        lambda d: _edit_line(d / "organisations.csv", 2, "University Hospitals", "Patient 943 476 5919"),
        "organisations.csv",
        "2",
        "OrganisationName",
        "",
    ),
    # case 1: an undeclared encoding other than UTF-16: UTF-8 text with one line saved in cp1252
    "mixed UTF-8 and cp1252": (
        lambda d: (d / "organisations.csv").write_bytes(
            (d / "organisations.csv")
            .read_bytes()
            .replace(b"University", "Universit\u00e9".encode(), 1)
            .replace(b"South Warwickshire", "South Warwickshire \u00a3".encode("cp1252"), 1)
        ),
        "organisations.csv",
        "3",
        "",
        "mixes encodings",
    ),
    # case 3: XLSX (the other XLSX layouts are accepted: see ACCEPTED below)
    "xlsx totals row inside the data": (
        lambda d: _recruitment_as_xlsx(d, "totals row"),
        "recruitment.xlsx",
        "?",
        "StudyId",
        "looks like a totals row",
    ),
    "xlsx data only on a hidden sheet": (
        lambda d: _recruitment_as_xlsx(d, "data only on a hidden sheet"),
        "recruitment.xlsx",
        "",
        "",
        "the first visible sheet ('Notes') is empty",
    ),
    # case 4: a slashed date that reads two ways, in a column of ISO dates
    "ambiguous date 03/04/2025 among ISO dates": (
        lambda d: _slashed_opening_date(d, "2025-04-03", day_above_12=False),
        "studies.csv",
        "?",
        "ActualOpeningDate",
        "?",
    ),
    # case 5
    "study recruiting before it opened": (_recruiting_before_opening, "recruitment.csv", "2", "Month", "?"),
    # case 6: another quarter's data (sample data generated to 2026/27 Q1 or Q3, built as 2026/27 Q2)
    "data of the previous quarter": (
        lambda d: _other_quarter(d, "2026/27 Q1"),
        "recruitment.csv",
        "",
        "Month",
        "no rows for the quarter reported (2026/27 Q2); the data appear to end at 2026/27 Q1",
    ),
    "data of the next quarter": (
        lambda d: _other_quarter(d, "2026/27 Q3"),
        "recruitment.csv",
        "",
        "Month",
        "the data run to 2026/27 Q3",
    ),
    # case 13: patient-level data; the value is never echoed in full
    "postcode in a text field": (
        lambda d: _edit_line(d / "organisations.csv", 2, "University Hospitals", "CV2 2DX Hospitals"),
        "organisations.csv",
        "2",
        "OrganisationName",
        "postcode (CV2 ***)",
        ("CV2 2DX", "2DX"),
    ),
    "date of birth in a text field": (
        lambda d: _edit_line(d / "organisations.csv", 3, "South Warwickshire", "DOB 14/03/1957"),
        "organisations.csv",
        "3",
        "OrganisationName",
        "date of birth",
        ("14/03/1957", "1957"),
    ),
    "DateOfBirth column": (
        lambda d: _add_column(d / "recruitment.csv", "DateOfBirth", "1957-03-14"),
        "recruitment.csv",
        "1",
        "DateOfBirth",
        "patient-level",
        ("1957-03-14", "1957"),
    ),
    "Postcode column": (
        lambda d: _add_column(d / "organisations.csv", "Postcode", "CV2 2DX"),
        "organisations.csv",
        "1",
        "Postcode",
        "patient-level",
        ("CV2 2DX", "2DX"),
    ),
}


# `make test` runs one case through the command line; the `slow` tier runs them all. Each case is
# also a unit test of the loader (tests/test_loading.py), so the fast suite still checks every rule.
IN_MAKE_TEST_BAD = "date of birth in a text field"


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=() if c == IN_MAKE_TEST_BAD else pytest.mark.slow) for c in BAD_INPUTS]
)
def test_bad_input_exits_2_names_file_row_column_and_leaves_the_pack_byte_identical(pack, case, tmp_path):
    """Each case: (edit, file, row, column, words[, never]); "?" means the edit returns that value
    (the row or the words depend on the sample data). ``never``: text that must not be echoed."""
    edit, file, row, column, words, *never = BAD_INPUTS[case]
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    found = edit(data) or {}
    row, words = (found["row"] if row == "?" else row), (found["words"] if words == "?" else words)
    result = _run(pack["root"], "build", "--quarter", QUARTER.label, "--icb", ICB, "--data", str(data))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Build failed (exit 2)" in output
    where = ", ".join(([f"row {row}"] if row else []) + ([f"column {column}"] if column else []))
    lines = [line for line in output.splitlines() if where in line and words.lower() in line.lower()]
    assert lines, (case, where, words, output[-3000:])  # one report line names row, column and problem
    assert re.search(rf"^\s*{re.escape(file)}\s*$", output, re.MULTILINE), (case, file)  # its file heads the group
    # Paths the build prints (log file, data folder) hold times and process ids: '1957' can be a
    # pid or 23:19:57 there, which is not the date of birth echoed.
    shown = re.sub(rf"(?:{re.escape(str(pack['root']))}|{re.escape(str(tmp_path))})\S*", "<path>", output)
    assert "9434765919" not in shown.replace(" ", "")  # an identifier is never echoed in full
    for secret in never[0] if never else ():
        assert secret not in shown, (case, secret)
    assert files_of(pack["folder"]) == pack["before"]


def _loose_counts(folder: Path) -> dict:
    """recruitment_ethnicity.csv, the quarter's rows: one count of 1,000 or more written with a thousands
    separator, one with a leading space, one as 12.0 (the same numbers, written as analysts do)."""
    path = folder / "recruitment_ethnicity.csv"
    rows = _csv_rows(path)
    month, count = rows[0].index("Month"), rows[0].index("Participants")
    in_quarter = [i for i, row in enumerate(rows) if i and row[month] >= f"{QUARTER.months[0]:%Y-%m}"]
    big = next(i for i in in_quarter if int(rows[i][count]) >= 1000)
    small = [i for i in in_quarter if int(rows[i][count]) < 1000][:2]
    value = rows[big][count]
    rows[big][count] = f"{int(value):,}"
    rows[small[0]][count] = " " + rows[small[0]][count]
    rows[small[1]][count] = rows[small[1]][count] + ".0"
    _write_csv(path, rows)
    return {
        "log": [
            f"recruitment_ethnicity.csv, row {big + 1}, column Participants: warning: "
            f"'{int(value):,}' read as {value} (thousands separator removed)"
        ]
    }


def _with_bom(path: Path) -> None:
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    path.write_bytes(b"\xef\xbb\xbf" + data)


# -- accepted forms of the same data: the build succeeds and the sections built from them are
#    identical (manifest content hash of every output, appendix tables) to the sections of the
#    clean pack. Published to another folder of the project, so the pack above stays as it is.
ACCEPTED = {
    # case: (edit, sections built)
    "xlsx two-row merged header": (
        lambda d: _recruitment_as_xlsx(d, "two-row merged header"),
        ["20_participation_equity"],
    ),
    "xlsx hidden sheet before the data": (
        lambda d: _recruitment_as_xlsx(d, "hidden sheet first"),
        ["20_participation_equity"],
    ),
    "UK date 13/04/2025 among ISO dates": (
        lambda d: _slashed_opening_date(d, "2025-04-13", day_above_12=True),
        ["10_research_activity"],
    ),
    "organisations.csv UTF-8 with BOM": (lambda d: _with_bom(d / "organisations.csv"), ["40_partnerships_workforce"]),
    "counts written '1,234', ' 12', '12.0'": (_loose_counts, ["20_participation_equity"]),
}


def _build_elsewhere(pack, data: Path, out: str, sections: list[str]) -> tuple[subprocess.CompletedProcess, Path, str]:
    """Build ``sections`` from ``data`` into the project folder ``out``; the result, the pack folder and
    the text of this build's log."""
    logs = pack["root"] / ".cache" / "logs"
    before = set(logs.glob("*.log"))
    result = _run(
        pack["root"],
        "build",
        "--quarter",
        QUARTER.label,
        "--icb",
        ICB,
        "--data",
        str(data),
        "--sections",
        ",".join(sections),
        "--no-pdf",
        "--out",
        out,
    )
    new_logs = sorted(set(logs.glob("*.log")) - before)
    return result, pack["root"] / out / ICB / QUARTER.id, "".join(p.read_text(encoding="utf-8") for p in new_logs)


IN_MAKE_TEST_ACCEPTED = "counts written '1,234', ' 12', '12.0'"


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=() if c == IN_MAKE_TEST_ACCEPTED else pytest.mark.slow) for c in ACCEPTED]
)
def test_accepted_input_forms_build_sections_identical_to_the_clean_pack(pack, case, tmp_path):
    edit, sections = ACCEPTED[case]
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    found = edit(data) or {}
    result, folder, log = _build_elsewhere(pack, data, f"accepted-{re.sub(r'[^a-z0-9]+', '-', case.lower())}", sections)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    clean = json.loads(pack["before"][Path("manifest.json")])
    built = {s["id"]: s for s in manifest["sections"]}
    assert sorted(built) == sorted(sections)
    assert all(built[sid]["status"] == "executed" for sid in sections)  # really run on the edited data
    expected = {s["id"]: s["content_hash"] for s in clean["sections"]}
    assert {sid: built[sid]["content_hash"] for sid in sections} == {sid: expected[sid] for sid in sections}
    tables = sorted(p.name for p in (folder / "appendix").glob("*.csv"))
    assert tables
    for name in tables:
        assert (folder / "appendix" / name).read_bytes() == pack["before"][Path("appendix", name)], name
    for line in found.get("log", []):
        assert line in log, (line, log[-2000:])  # the warning is recorded in the build's log
    assert files_of(pack["folder"]) == pack["before"]


@pytest.mark.slow
def test_cp1252_organisation_name_with_pound_and_e_acute_reaches_the_pack_as_written(pack, tmp_path):
    """organisations.csv saved by Excel as 'CSV' (Windows-1252), a name holding £, é and an en dash
    (0x96: a cp1252-only byte): the build reads it and the pack shows the characters as written."""
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    path = data / "organisations.csv"
    old, name = (
        "University Hospitals Coventry and Warwickshire NHS Trust",
        "Caf\u00e9 \u00a3 Fund \u2013 University Hospitals",
    )
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_bytes(text.replace(old, name).encode("cp1252"))
    assert b"\xe9" in path.read_bytes() and b"\xa3" in path.read_bytes() and b"\x96" in path.read_bytes()
    result, folder, _ = _build_elsewhere(pack, data, "accepted-cp1252", ["40_partnerships_workforce"])
    assert result.returncode == 0, result.stdout + result.stderr
    html = (folder / "board_pack.html").read_text(encoding="utf-8")
    assert name in _text(html)
    assert "\u00c3" not in html and "\ufffd" not in html  # no mojibake (Ã©), no replacement character
    table = pd.read_csv(folder / "appendix" / "workforce_by_organisation.csv", dtype=str, keep_default_na=False)
    assert name in table.values.ravel().tolist()
    assert files_of(pack["folder"]) == pack["before"]


def test_two_builds_of_the_same_pack_at_once_one_publishes_the_other_exits_4(pack):
    """Two real `boardpack build` processes of one pack started together: one builds and publishes, the
    other exits 4 at once naming the lock; one complete version is published, nothing mixed."""
    args = [
        "build",
        "--quarter",
        QUARTER.label,
        "--icb",
        ICB,
        "--sections",
        "70_deliverables",
        "--force",
        "--no-pdf",
        "--out",
        "concurrent",
    ]
    env = dict(os.environ, BOARDPACK_ROOT=str(pack["root"]), COLUMNS="200")
    runs = [
        subprocess.Popen(
            [*BOARDPACK, *args], cwd=pack["root"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    codes = [run.returncode for run in runs]
    assert sorted(codes) == [0, 4], (codes, outputs)
    refused = "".join(outputs[codes.index(4)])
    assert "Build failed (exit 4)" in refused and "another build of this pack is running" in refused
    versions = pack["root"] / "concurrent" / ICB / ".versions" / QUARTER.id
    assert [p.name for p in versions.iterdir()] == ["1"]
    folder = pack["root"] / "concurrent" / ICB / QUARTER.id
    assert folder.resolve() == (versions / "1").resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    from boardpack.hashing import sha256_file

    published = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert published == set(manifest["outputs"])
    assert all(sha256_file(folder / name) == digest for name, digest in manifest["outputs"].items())
    assert not any((pack["root"] / "concurrent" / ICB / ".staging").iterdir())
    assert files_of(pack["folder"]) == pack["before"]


@pytest.mark.slow
def test_forced_rebuild_in_kernels_gives_the_fork_engines_html_appendix_and_section_hashes(pack):
    """Reproducible, and the same whichever engine ran the sections: every section re-executed
    (--force) in a Jupyter kernel each (--engine kernel) gives the same HTML bytes (figures inline)
    as the sample pack built by the default fork engine, the same appendix and the same per-section
    content hashes. Published to a folder of its own."""
    manifest = json.loads(pack["before"][Path("manifest.json")])
    assert manifest["parameters"]["engine"] == "fork"
    forced = _run(
        pack["root"],
        "build",
        "--quarter",
        QUARTER.label,
        "--icb",
        ICB,
        "--force",
        "--engine",
        "kernel",
        "--out",
        "forced",
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    folder = pack["root"] / "forced" / ICB / QUARTER.id
    again = json.loads((folder / "manifest.json").read_text())
    assert not any(s.get("cache_hit") for s in again["sections"])
    assert [s["content_hash"] for s in again["sections"]] == [s["content_hash"] for s in manifest["sections"]]
    assert (folder / "board_pack.html").read_bytes() == pack["before"][Path("board_pack.html")]
    for path, content in pack["before"].items():
        if path.parts[0] == "appendix":
            assert (folder / path).read_bytes() == content, path


def test_hostile_text_in_data_is_shown_as_text_and_formulas_are_neutralised(pack, tmp_path):
    """Valid data with hostile organisation names, built (the section that shows them) to a folder of
    its own: the published pack and its appendix show the names as text."""
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    organisations = data / "organisations.csv"
    hostile = '"=HYPERLINK(""http://x"")<script>alert(1)</script><img src=x onerror=alert(1)><svg onload=alert(1)>"'
    _edit_line(organisations, 2, "University Hospitals Coventry and Warwickshire NHS Trust", hostile.replace(",", ""))
    result, folder, _ = _build_elsewhere(pack, data, "hostile", ["40_partnerships_workforce"])
    assert result.returncode == 0, result.stdout + result.stderr
    html = (folder / "board_pack.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "onerror=" not in html.lower().replace("onerror=alert", "")
    assert scan.scan_pack(folder) == []
    cells = [
        cell
        for csv in (folder / "appendix").glob("*.csv")
        for cell in pd.read_csv(csv, dtype=str, keep_default_na=False).values.ravel()
    ]
    hostile_cells = [c for c in cells if "HYPERLINK" in c]
    assert hostile_cells, "the organisation name should reach a published table"
    assert all(c.startswith("'=") for c in hostile_cells), hostile_cells
    assert files_of(pack["folder"]) == pack["before"]


def test_section_outputs_carry_no_path_of_the_checkout(pack):
    """A section's outputs (what its content hash covers) are the same wherever the project is
    checked out: no absolute path of the project in any executed notebook's outputs."""
    import nbformat

    executed = list((pack["root"] / ".cache" / "jupyter-cache").rglob("*.ipynb"))
    assert len(executed) >= len(SECTIONS)
    for path in executed:
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                shown = json.dumps({k: output[k] for k in ("text", "data") if k in output})
                assert str(pack["root"]) not in shown, (path.name, shown[:200])
