"""helpers.tables: HTML house style, escaping, determinism, formula-safe exports."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.tables import (
    ROUNDED_NOTE,
    format_money,
    format_number,
    format_table,
    neutralise_formula,
    neutralise_frame,
    to_csv_safe,
)


class _Cells(HTMLParser):
    """Collects (tag, attrs, text) for th/td/caption and every <script> start tag."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, dict, str]] = []
        self.scripts = 0
        self._open: tuple[str, dict] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag in {"th", "td", "caption"}:
            self._open, self._text = (tag, dict(attrs)), []

    def handle_data(self, data):
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self.cells.append((tag, self._open[1], "".join(self._text)))
            self._open = None


def parse(html_text: str) -> _Cells:
    parser = _Cells()
    parser.feed(html_text)
    return parser


RECRUITS = pd.DataFrame(
    {
        "Organisation": ["University Hospitals Coventry", "George Eliot Hospital", "South Warwickshire"],
        "Recruits": [12345, "*", 0],
        "Share": [0.756, 0.1, 0.25],
    }
)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(1234567, None, "1,234,567"), (12.25, None, "12.3"), (-1234.5, 0, "-1,235"), (0.125, 2, "0.13"), (5, 1, "5.0")],
)
def test_format_number(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_format_number_rejects_text_and_nan():
    with pytest.raises(ValueError, match="not a finite number"):
        format_number("12")
    with pytest.raises(ValueError, match="not a finite number"):
        format_number(float("nan"))


def test_headers_are_th_with_scope_and_units_and_caption_comes_first():
    table = format_table(RECRUITS, caption="Recruits by trust, 2026/27 Q2", units={"Recruits": "people"})
    cells = parse(table.html).cells
    assert cells[0] == ("caption", {}, "Recruits by trust, 2026/27 Q2")
    headers = [(text, attrs.get("scope")) for tag, attrs, text in cells if tag == "th" and attrs.get("scope") == "col"]
    assert headers == [("Organisation", "col"), ("Recruits (people)", "col"), ("Share", "col")]
    row_headers = [text for tag, attrs, text in cells if attrs.get("scope") == "row"]
    assert row_headers == RECRUITS["Organisation"].tolist()
    # no index column: three cells in each of the three body rows
    body = table.html.split("<tbody>")[1].split("</tbody>")[0]
    assert [len(re.findall(r"<t[hd][ >]", row)) for row in body.strip().splitlines()] == [3, 3, 3]


def test_numbers_get_thousands_separators_and_consistent_decimals():
    table = format_table(RECRUITS, caption="c")
    data = [text for tag, attrs, text in parse(table.html).cells if tag == "td" and attrs["class"] != "table-note"]
    assert data == ["12,345", "0.8", "*", "0.1", "0", "0.3"]
    assert table.frame["Recruits"].tolist() == ["12,345", "*", "0"]


def test_dates_are_written_in_words():
    frame = pd.DataFrame({"Opened": pd.to_datetime(["2026-04-01", "2026-07-15"]), "N": [1, 2]})
    table = format_table(frame, caption="c", row_headers=False)
    assert table.frame["Opened"].tolist() == ["1 April 2026", "15 July 2026"]
    assert '<th scope="col">Opened</th>' in table.html  # dates are not right-aligned numbers


def test_decimals_per_column():
    table = format_table(RECRUITS, caption="c", decimals={"Share": 2})
    assert table.frame["Share"].tolist() == ["0.76", "0.10", "0.25"]


def test_suppressed_cells_are_marked_and_explained():
    table = format_table(RECRUITS, caption="c", rounded_counts=True, footnotes=["Source: EDGE."])
    suppressed = [attrs for tag, attrs, text in parse(table.html).cells if "suppressed" in attrs.get("class", "")]
    assert len(suppressed) == 1
    assert table.footnotes == (
        "Source: EDGE.",
        "* 1 to 7 people: suppressed to protect confidentiality.",
        ROUNDED_NOTE,
    )
    assert "<tfoot>" in table.html and 'colspan="3"' in table.html


def test_no_suppression_note_without_suppressed_cells():
    table = format_table(RECRUITS.replace("*", 5), caption="c")
    assert table.footnotes == ()
    assert "<tfoot>" not in table.html


def test_missing_values_show_a_dash_with_a_note():
    table = format_table(pd.DataFrame({"Name": ["a", "b"], "N": [1.0, np.nan]}), caption="c")
    assert table.frame["N"].tolist() == ["1", "–"]
    assert table.footnotes == ("– no data.",)


def test_all_text_is_escaped():
    hostile = pd.DataFrame({"<b>Name</b>": ["<script>alert(1)</script>", 'quote " & amp'], "N": [1, 2]})
    table = format_table(hostile, caption="<img src=x onerror=alert(1)>", footnotes=["<i>note</i>"], units={"N": "<u>"})
    parsed = parse(table.html)
    assert parsed.scripts == 0
    assert "<script>" not in table.html and "<img" not in table.html and "<i>" not in table.html
    texts = [text for _, _, text in parsed.cells]
    assert "<script>alert(1)</script>" in texts  # shown to the reader as text
    assert 'quote " & amp' in texts
    assert "<img src=x onerror=alert(1)>" in texts
    assert "<b>Name</b>" in texts and "N (<u>)" in texts and "<i>note</i>" in texts


def test_html_is_stable_and_ids_come_from_the_caption():
    first = format_table(RECRUITS, caption="Recruits by trust").html
    second = format_table(RECRUITS.copy(), caption="Recruits by trust").html
    assert first == second
    other = format_table(RECRUITS, caption="Recruits by trust (all)").html
    assert 'id="tbl-recruits-by-trust-' in first
    assert first.split('"')[3] != other.split('"')[3]


def test_jupyter_bundle_is_html_and_text_and_the_payload_is_the_appendix_record():
    frame = pd.DataFrame(
        {
            "Trust": ["A", "B"],
            "Recruits": [np.int64(1234), "*"],
            "Share": [0.5, np.nan],
            "Opened": pd.to_datetime(["2026-04-01", "2026-05-01"]),
        }
    )
    table = format_table(frame, caption="Recruits by trust", units={"Recruits": "people"}, name="recruits_by_trust")
    bundle = table._repr_mimebundle_()
    # The appendix comes from the build's section stores (helpers.section_tables), not from outputs.
    assert bundle == {"text/html": table.html, "text/plain": "Recruits by trust"}
    payload = table.payload()
    assert payload == {
        "name": "recruits_by_trust",
        "title": "Recruits by trust",
        "columns": ["Trust", "Recruits (people)", "Share", "Opened"],
        "rows": [["A", 1234, 0.5, "2026-04-01"], ["B", "*", None, "2026-05-01"]],
        "footnotes": ["* 1 to 7 people: suppressed to protect confidentiality.", "– no data."],
    }
    assert type(payload["rows"][0][1]) is int
    json.dumps(payload, allow_nan=False)  # valid JSON for the store's appendix record
    assert format_table(frame, caption="Recruits by trust").name.startswith("recruits-by-trust-")


@pytest.mark.parametrize(
    "value, expected",
    [
        (3_935_113.45, "£3.94m"),
        (1_000_000, "£1.00m"),
        (999_999, "£1.00m"),  # £1,000k after rounding: millions, never "£1,000k"
        (999_500, "£1.00m"),
        (999_499, "£999k"),
        (88_224, "£88k"),
        (1_000, "£1k"),
        (999.6, "£1k"),  # £1,000 after rounding: thousands
        (999.4, "£999"),
        (850, "£850"),  # under £1k: whole pounds, not "£0.85k"
        (0, "£0"),
        (-0.3, "£0"),  # no "-£0"
        (-88_224, "-£88k"),
        (-1_500_000, "-£1.50m"),
        (12_345_678, "£12.35m"),
        (2_675_000, "£2.68m"),  # half away from zero, as format_number
    ],
)
def test_format_money_one_rule(value, expected):
    assert format_money(value) == expected


def test_format_money_rejects_text_and_nan():
    with pytest.raises(ValueError, match="not a finite number"):
        format_money(float("nan"))
    with pytest.raises(ValueError, match="not a finite number"):
        format_money("£5")


def test_money_columns_show_the_money_rule_and_keep_whole_pounds_in_the_appendix():
    frame = pd.DataFrame({"Quarter": ["2026/27 Q1", "2026/27 Q2"], "Income": [848_377.4500000001, 3_935_113.45]})
    table = format_table(frame, caption="Income", units={"Income": "GBP"})
    assert table.frame["Income (GBP)"].tolist() == ["£848k", "£3.94m"]
    assert table.payload()["rows"] == [["2026/27 Q1", 848_377], ["2026/27 Q2", 3_935_113]]


def test_appendix_numbers_are_rounded_as_shown_without_float_noise():
    frame = pd.DataFrame(
        {
            "Name": ["a", "b"],
            "Pct": [12.3000000001, 848377.4500000001],
            "Ratio": [0.7149999999, 1.125],
            "Count": [468.0, 3.0],
            "People": ["*", 15],
        }
    )
    table = format_table(frame, caption="Noise", decimals={"Ratio": 2})
    rows = table.payload()["rows"]
    assert rows == [["a", 12.3, 0.71, 468, "*"], ["b", 848377.5, 1.13, 3, 15]]
    assert [type(v) for v in rows[0][1:4]] == [float, float, int]  # whole counts are ints: "468", not "468.0"
    text = ",".join(repr(v) for row in rows for v in row)
    assert "0000" not in text and "9999" not in text


def test_rows_in_gbp_follow_the_money_rule_when_each_row_has_its_unit():
    frame = pd.DataFrame(
        {"Benefit": ["Savings", "Staff time"], "Unit": ["GBP", "hours"], "Amount": [88_224.45, 1234.5]}
    )
    table = format_table(frame, caption="Benefits", row_units="Unit")
    assert table.frame["Amount"].tolist() == ["£88k", "1,234.5"]
    assert table.payload()["rows"] == [["Savings", "GBP", 88_224], ["Staff time", "hours", 1234.5]]
    with pytest.raises(ValueError, match="row_units column 'Units' not in the table"):
        format_table(frame, caption="Benefits", row_units="Units")


def test_an_appendix_frame_replaces_the_shown_words_with_numbers():
    shown = pd.DataFrame({"KPI": ["Income", "Studies"], "Latest": ["£3.94m", "468"]})
    numbers = pd.DataFrame(
        {
            "KPI": ["Income", "Studies"],
            "Value": pd.Series([3_935_113, 112.30000000000001], dtype=object),
            "Unit": ["GBP", "%"],
        }
    )
    table = format_table(shown, caption="Headline", appendix=numbers)
    assert "£3.94m" in table.html and "3935113" not in table.html
    assert table.payload()["columns"] == ["KPI", "Value", "Unit"]
    assert table.payload()["rows"] == [["Income", 3_935_113, "GBP"], ["Studies", 112.3, "%"]]


def test_index_only_when_asked():
    frame = RECRUITS.set_index("Organisation")
    assert "Organisation" not in format_table(frame, caption="c").html
    assert "Organisation" in format_table(frame, caption="c", index=True).html


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"caption": " "}, "needs a caption"), ({"caption": "c", "units": {"Nope": "x"}}, "not in the table")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        format_table(RECRUITS, **kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("-12", "-12"),
        ("-1,234.5", "-1,234.5"),
        ("+7", "+7"),
        ("Coventry", "Coventry"),
        (-5, -5),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_to_csv_safe_quotes_formulae_but_keeps_negative_numbers_numeric():
    frame = pd.DataFrame({"Name": ["=cmd|' /C calc'!A0", "Warwick"], "Change": [-5, 3], "=Head": ["-1", "x"]})
    text = to_csv_safe(frame)
    back = pd.read_csv(io.StringIO(text))
    assert back.columns.tolist() == ["Name", "Change", "'=Head"]
    assert back["Name"].tolist() == ["'=cmd|' /C calc'!A0", "Warwick"]
    assert back["Change"].tolist() == [-5, 3]
    assert back["'=Head"].tolist() == [-1, "x"] or back["'=Head"].tolist() == ["-1", "x"]
    assert frame.loc[0, "Name"].startswith("=")  # the input is not changed


def test_neutralised_frame_in_xlsx_is_text_not_formula(tmp_path):
    frame = pd.DataFrame({"Name": ["=1+1", "ok"], "Change": [-5, 2]})
    path = tmp_path / "out.xlsx"
    neutralise_frame(frame).to_excel(path, index=False)
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "'=1+1"
    assert sheet["B2"].data_type == "n" and sheet["B2"].value == -5
