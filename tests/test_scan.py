"""boardpack.scan: every kind of finding seeded into real files, and clean files that give none."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from boardpack.scan import Finding, is_nhs_number, scan_pack  # noqa: E402


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.kind, f.file) for f in findings)


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Pack</title>
<style>body {{ font-family: sans-serif; background: url(data:image/png;base64,iVBORw0KGgo=); }}</style>
</head><body><main><h1>Board pack</h1><h2>Participation</h2>{body}</main></body></html>"""

CLEAN_TEXT = (
    "QWU (NHS Coventry and Warwickshire ICB, E54000018) recruited 1,235 participants in 2026/27 Q2 "
    "at RTH, RX1 and A81001 (sub-ICB 15N). Study CPMS 12345, IRAS 123456, NCT01234567; income £1,234,567 "
    "and £12.5m, 1234567.50 in total, 104% of the 2019/20 baseline; call 0114 271 1900. "
    "Built 2026-11-22 03:10 from commit 9f3c2a1b0e; hash ab9434765919cd. Sections 1-7 of 8."
)


# -- NHS numbers ---------------------------------------------------------------------------------
def test_nhs_number_check_digit_on_published_examples():
    assert is_nhs_number("9434765919")
    assert is_nhs_number("943 476 5919")
    assert is_nhs_number("401-023-2137")
    assert not is_nhs_number("9434765918")  # wrong check digit
    assert not is_nhs_number("943476591")  # 9 digits
    assert not is_nhs_number("1000000010")  # remainder 1: check digit would be 10, never issued


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_change_breaks_a_valid_number(body, position, shift):
    digits = "".join(map(str, body))
    valid = [d for d in "0123456789" if is_nhs_number(digits + d)]
    assert len(valid) <= 1  # at most one check digit fits nine digits
    if valid:
        number = digits + valid[0]
        changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
        assert not is_nhs_number(changed)


# -- HTML ----------------------------------------------------------------------------------------
def test_clean_html_page_gives_no_finding(tmp_path):
    table = (
        "<table><caption>Participants by place</caption><thead><tr><th scope='col'>Place</th>"
        "<th scope='col'>Participants (people)</th><th scope='col'>ParticipantPct</th>"
        "<th scope='col'>Studies</th></tr></thead><tbody>"
        "<tr><th scope='row'>North</th><td>10</td><td>5.0</td><td>3</td></tr>"
        "<tr><th scope='row'>South</th><td>*</td><td>*</td><td>7</td></tr>"
        "<tr><th scope='row'>Total</th><td>1,235</td><td>100</td><td>4</td></tr></tbody>"
        "<tfoot><tr><td colspan='4'>* 1 to 7 people: suppressed to protect confidentiality.</td></tr></tfoot>"
        "</table>"
    )
    body = (
        f"<p>{CLEAN_TEXT}</p><p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; "
        "javascript:alert(1) is shown as text.</p>"
        "<nav><a href='#participation'>Participation</a> <a href='appendix/tables.xlsx'>tables</a></nav>"
        "<img alt='Line chart of participants per quarter' src='data:image/png;base64,iVBORw0KGgo='>" + table
    )
    write(tmp_path / "board_pack.html", PAGE.format(body=body))
    assert scan_pack(tmp_path) == []


def test_identifiers_in_html_text_and_attributes(tmp_path):
    body = (
        "<p>Patient 943 476 5919 lives at CV1 5FB.</p>"
        "<p>Other: 4010232137 and SW1A1AA</p>"
        "<img alt='Born 3 February 2001' src='data:image/png;base64,iVBORw0KGgo='>"
    )
    write(tmp_path / "board_pack.html", PAGE.format(body=body))
    findings = scan_pack(tmp_path, forbidden_values=["2001-02-03"])
    assert sorted(f.kind for f in findings) == ["forbidden_value", "nhs_number", "nhs_number", "postcode", "postcode"]
    nhs = [f for f in findings if f.kind == "nhs_number"]
    assert {f.detail for f in nhs} == {"NHS number ending 5919", "NHS number ending 2137"}
    assert all("Participation" in f.where for f in nhs)  # located under the heading above it
    assert "5919" not in str([f for f in findings if f.kind == "postcode"])
    dob = next(f for f in findings if f.kind == "forbidden_value")
    assert dob.where == "<img> alt" and "2001-02-03" not in dob.detail  # masked in the report


@pytest.mark.parametrize(
    "markup, kind",
    [
        ("<script>alert(1)</script>", "script"),
        ("<script src='appendix/x.js'></script>", "script"),
        ("<img src=x onerror=alert(1) alt='x'>", "event_handler"),
        ("<svg onload='alert(1)'></svg>", "event_handler"),
        ('<div onmouseover="go()">x</div>', "event_handler"),
        ("<a href='javascript:alert(1)'>x</a>", "javascript_url"),
        ("<a href=' JaVa\tScRiPt:alert(1)'>x</a>", "javascript_url"),
        ("<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>", "javascript_url"),
        ("<img alt='x' src='https://example.org/x.png'>", "external_url"),
        ("<link rel='stylesheet' href='//cdn.example.org/x.css'>", "external_url"),
        ("<a href='/etc/passwd'>x</a>", "external_url"),
        ("<a href='../other_pack/board_pack.html'>x</a>", "external_url"),
        ("<a href='mailto:someone@example.org'>x</a>", "external_url"),
        ("<img alt='x' srcset='data:image/png;base64,AA 1x, http://example.org/b.png 2x'>", "external_url"),
        ("<p style=\"background: url('http://example.org/t.gif')\">x</p>", "external_url"),
        ("<style>@import 'https://example.org/x.css';</style>", "external_url"),
        ("<iframe title='x' src='data:text/html,hi'></iframe>", "active_content"),
        ("<object data='appendix/x.pdf'></object>", "active_content"),
        ("<meta http-equiv='refresh' content='0'>", "active_content"),
        ("<a href='data:text/html;base64,PHNjcmlwdD4='>x</a>", "active_content"),
    ],
)
def test_each_unsafe_html_construct_is_found(tmp_path, markup, kind):
    write(tmp_path / "board_pack.html", PAGE.format(body=markup))
    assert kind in {f.kind for f in scan_pack(tmp_path)}


def test_allow_listed_script_passes_and_any_other_does_not(tmp_path):
    shipped = "document.documentElement.classList.add('js')"
    write(tmp_path / "board_pack.html", PAGE.format(body=f"<script>\n{shipped}\n</script><script>alert(1)</script>"))
    digest = hashlib.sha256(shipped.encode()).hexdigest()
    findings = scan_pack(tmp_path, allowed_scripts=[digest])
    assert [f.kind for f in findings] == ["script"] and "alert(1)" in findings[0].detail
    assert len(scan_pack(tmp_path)) == 2


def test_small_counts_in_html_tables(tmp_path):
    wide = (
        "<table><caption>Research workforce</caption><thead><tr><th></th><th>ResearchActiveStaff</th>"
        "<th>JointAppointments</th><th>Rolling12MonthsGBP</th><th>MedianDays</th></tr></thead><tbody>"
        "<tr><th>Acute</th><td>6</td><td>10</td><td>3</td><td>2</td></tr>"
        "<tr><th>Community</th><td>15</td><td>2</td><td>4</td><td>5</td></tr></tbody></table>"
    )
    long = (
        "<table><caption>Engagement</caption><thead><tr><th>Measure</th><th>Quarter</th><th>Value</th></tr>"
        "</thead><tbody><tr><td>ppie_contributors</td><td>2026/27 Q2</td><td>4</td></tr>"
        "<tr><td>events</td><td>2026/27 Q2</td><td>3</td></tr>"
        "<tr><td>Event attendance</td><td>2026/27 Q2</td><td>20</td></tr></tbody></table>"
    )
    write(tmp_path / "board_pack.html", PAGE.format(body=wide + long))
    small = [f for f in scan_pack(tmp_path) if f.kind == "small_count"]
    assert sorted(f.where for f in small) == [
        "table 'Engagement', body row 1, column 'Value'",
        "table 'Research workforce', body row 1, column 'ResearchActiveStaff'",
        "table 'Research workforce', body row 2, column 'JointAppointments'",
    ]


def test_pandas_html_with_index_name_row_still_finds_the_people_column(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"Participants": [3, 10]}, index=pd.Index(["North", "South"], name="Place"))
    write(tmp_path / "board_pack.html", PAGE.format(body=frame.to_html()))
    small = [f for f in scan_pack(tmp_path) if f.kind == "small_count"]
    assert len(small) == 1 and "Participants" in small[0].where and small[0].detail.startswith("3 people")


def test_extra_people_columns_by_name(tmp_path):
    write(tmp_path / "appendix" / "carers.csv", "Place,Carers\nNorth,4\n")
    assert scan_pack(tmp_path) == []
    assert [f.kind for f in scan_pack(tmp_path, people_columns=["Carers"])] == ["small_count"]


# -- nbconvert output ------------------------------------------------------------------------------
def test_real_nbconvert_export_gives_only_its_cdn_scripts(tmp_path):
    """nbconvert's own CSS and markup raise nothing; the lab template's CDN scripts are caught."""
    from nbconvert import HTMLExporter

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [900, 1000, 1235])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": base64.b64encode(buffer.getvalue()).decode()},
            metadata={"image/png": {"alt": "Participants per quarter, 900 to 1,235"}},
        ),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/html": "<table><thead><tr><th>Place</th><th>Participants</th>"
                "</tr></thead><tbody><tr><td>North</td><td>610</td></tr></tbody></table>"
            },
            execution_count=1,
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Pack\n\n{CLEAN_TEXT}"), cell]
    html, _ = HTMLExporter(template_name="lab", exclude_input=True).from_notebook_node(nb)
    write(tmp_path / "board_pack.html", html)
    findings = scan_pack(tmp_path)
    assert {f.kind for f in findings} == {"script", "external_url"}
    assert all("cdnjs" in f.detail or f.kind == "script" for f in findings)


# -- CSV -------------------------------------------------------------------------------------------
def test_csv_findings_and_locations(tmp_path):
    write(
        tmp_path / "appendix" / "participants_by_place.csv",
        'Place,Participants,Pct\nNorth,3,10.0\nSouth,*,*\n=HYPERLINK("http://x"),10,5\n\'=1+1,15,-3\n"CV1 5FB",20,\n',
    )
    findings = scan_pack(tmp_path)
    assert sorted((f.kind, f.where) for f in findings) == [
        ("formula", "row 4, column 'Place'"),
        ("postcode", "row 6, column 'Place'"),
        ("small_count", "row 2, column 'Participants'"),
    ]
    assert all(f.file == "appendix/participants_by_place.csv" for f in findings)


def test_clean_csv_of_codes_money_years(tmp_path):
    write(
        tmp_path / "appendix" / "studies.csv",
        "StudyId,OrganisationCode,Quarter,IncomeGBP,Rolling12MonthsGBP,Participants,RecruitingGpPractices,Year\n"
        'CPMS 12345,RTH,2026/27 Q2,1234567.50,"1,234,567","1,235",3,2025\n'
        "IRAS 123456,A81001,2026/27 Q1,-3,5,0,7,2026\n"
        f'NCT01234567,QWU,2026/27 Q1,+5,7,15,2,"{CLEAN_TEXT}"\n',
    )
    assert scan_pack(tmp_path) == []


# -- XLSX ------------------------------------------------------------------------------------------
def test_xlsx_findings_in_visible_and_hidden_sheets(tmp_path):
    wb = Workbook()
    sheet = wb.active
    sheet.title = "workforce"
    sheet.append(["Research workforce by organisation"])  # the title row the build writes
    sheet.append(["Organisation", "ResearchActiveStaff", "MedianDays"])
    sheet.append(["RTH", 6, 3])
    sheet.append(["RX1", "*", 2])
    sheet.append(["=1+2", 10, 4])
    sheet["A6"] = "link"
    sheet["A6"].hyperlink = "https://example.org/"
    hidden = wb.create_sheet("notes")
    hidden.sheet_state = "hidden"
    hidden.append(["patient", "9434765919", dt.datetime(2001, 2, 3)])
    (tmp_path / "appendix").mkdir()
    wb.save(tmp_path / "appendix" / "tables.xlsx")
    findings = scan_pack(tmp_path, forbidden_values=["03/02/2001"])
    assert sorted((f.kind, f.where) for f in findings) == [
        ("external_url", "sheet 'workforce', cell A6 hyperlink"),
        ("forbidden_value", "sheet 'notes', cell C1"),
        ("formula", "sheet 'workforce', cell A5"),
        ("nhs_number", "sheet 'notes', cell B1"),
        ("small_count", "sheet 'workforce', row 3, column 'ResearchActiveStaff'"),
    ]


def test_clean_xlsx_as_the_build_writes_it(tmp_path):
    wb = Workbook()
    sheet = wb.active
    sheet.append(["Participants by place"])
    sheet.append(["Place", "Participants", "ParticipantPct", "Studies"])
    sheet.append(["North", 10, 5.0, 3])
    sheet.append(["South", "*", "*", 1])
    sheet.append(["'=SUM(A1)", 1235, 100.0, 4])
    (tmp_path / "appendix").mkdir()
    wb.save(tmp_path / "appendix" / "tables.xlsx")
    assert scan_pack(tmp_path) == []


# -- PDF -------------------------------------------------------------------------------------------
def _pdf(path, body: str) -> None:
    import typst

    source = path.with_suffix(".typ")
    source.write_text(body, encoding="utf-8")
    typst.compile(str(source), output=str(path))
    source.unlink()


def test_pdf_text_and_links(tmp_path):
    _pdf(
        tmp_path / "board_pack.pdf",
        "= Board pack\nParticipants: 1,235.\n#pagebreak()\nPatient 943 476 5919, born 03/02/2001, CV1 5FB.\n"
        '#link("https://example.org/")[more]\n',
    )
    findings = scan_pack(tmp_path, forbidden_values=[dt.date(2001, 2, 3)])
    assert sorted((f.kind, f.where) for f in findings) == [
        ("external_url", "page 2 link"),
        ("forbidden_value", "page 2"),
        ("nhs_number", "page 2"),
        ("postcode", "page 2"),
    ]


def test_clean_pdf(tmp_path):
    _pdf(
        tmp_path / "board_pack.pdf",
        f"= Board pack\n{CLEAN_TEXT.replace('£', 'GBP ')}\n#link(<x>)[see below]\n\n== Next <x>\n",
    )
    assert scan_pack(tmp_path) == []


# -- manifest and other files ---------------------------------------------------------------------
def test_manifest_clean_and_seeded(tmp_path):
    manifest = {
        "parameters": {"icb": "QWU", "quarter": "2026/27 Q2", "data": "data/sample/QWU"},
        "inputs": {"recruitment.csv": hashlib.sha256(b"x").hexdigest(), "studies.csv": "0123456789" * 6 + "abcd"},
        "git": {"commit": "9f3c2a1b0e" * 4, "dirty": False},
        "versions": {"pandas": "3.1.0", "nbconvert": "7.17.2"},
        "sections": [{"id": "participation", "seconds": 1.7, "cache_hit": True}],
        "built": "2026-11-22T03:10:05Z",
    }
    write(tmp_path / "manifest.json", json.dumps(manifest))
    assert scan_pack(tmp_path) == []
    manifest["parameters"]["note"] = {"patient": 9434765919}
    write(tmp_path / "manifest.json", json.dumps(manifest))
    assert [(f.kind, f.where) for f in scan_pack(tmp_path)] == [("nhs_number", "parameters.note.patient")]


def test_unknown_and_unreadable_files_are_reported_not_skipped(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01")
    (tmp_path / "appendix").mkdir()
    (tmp_path / "appendix" / "tables.xlsx").write_bytes(b"not a zip")
    (tmp_path / "appendix" / "cp1252.csv").write_bytes("Place\nCaf\xe9\n".encode("latin-1"))
    assert kinds(scan_pack(tmp_path)) == [
        ("unreadable_file", "appendix/cp1252.csv"),
        ("unreadable_file", "appendix/tables.xlsx"),
        ("unscanned_file", "blob.bin"),
    ]


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_pack(tmp_path / "missing")
    with pytest.raises(ValueError, match="shorter than 4"):
        scan_pack(tmp_path, forbidden_values=["M1"])


def test_numbers_in_adjacent_table_cells_across_lines_are_not_an_nhs_number(tmp_path):
    # 107 262 2025 passes the modulus-11 check, but here it is two cells of one table row and the
    # start of the next row's quarter label, as PDF text extraction gives them.
    assert is_nhs_number("1072622025")
    _pdf(
        tmp_path / "board_pack.pdf", "Quarter Median Lower Upper\n\n2024/25 Q4 149.5 107 262\n\n2025/26 Q1 148.0 106\n"
    )
    assert scan_pack(tmp_path) == []
    _pdf(tmp_path / "board_pack.pdf", "Patient 107 262 2025 seen.\n")
    assert [f.kind for f in scan_pack(tmp_path)] == ["nhs_number"]
