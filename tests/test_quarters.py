import datetime as dt

import pandas as pd
import pytest

from helpers.quarters import (
    Quarter,
    QuarterError,
    latest_complete,
    parse,
    parse_range,
    quarter_of_dates,
    quarter_range,
)


@pytest.mark.parametrize(
    "label",
    ["2026/27 Q2", "2026/27Q2", "FY2026/27 Q2", "fy2026/27 q2", "2026-27-Q2", " 2026/27  Q2 ", "FY 2026/27 Q2"],
)
def test_every_label_form_parses_to_the_same_quarter(label):
    assert parse(label) == Quarter(2026, 2)


def test_label_and_id_round_trip():
    quarter = Quarter(2026, 2)
    assert quarter.label == "2026/27 Q2"
    assert quarter.id == "2026-27-Q2"
    assert parse(quarter.label) == parse(quarter.id) == quarter
    assert str(quarter) == "2026/27 Q2"


@pytest.mark.parametrize(
    "label, start, end",
    [
        ("2026/27 Q1", dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        ("2026/27 Q2", dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        ("2026/27 Q3", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        # Q4 is January-March of the LATER calendar year.
        ("2026/27 Q4", dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
        # Leap year: February 2024 has 29 days, inside 2023/24 Q4.
        ("2023/24 Q4", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        # Century boundary in the label: 1999/00.
        ("1999/00 Q4", dt.date(2000, 1, 1), dt.date(2000, 3, 31)),
    ],
)
def test_start_and_end_dates(label, start, end):
    quarter = parse(label)
    assert quarter.start == start
    assert quarter.end == end


def test_months_of_q4_cross_the_calendar_year():
    assert parse("2026/27 Q4").months == [dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)]
    assert parse("2026/27 Q3").months == [dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)]


def test_previous_and_next_across_financial_year_boundary():
    assert parse("2026/27 Q1").previous() == parse("2025/26 Q4")
    assert parse("2025/26 Q4").next() == parse("2026/27 Q1")
    assert parse("2026/27 Q2").previous() == parse("2026/27 Q1")


def test_same_quarter_last_year():
    assert parse("2026/27 Q2").same_quarter_last_year() == parse("2025/26 Q2")
    assert parse("2026/27 Q4").same_quarter_last_year().start == dt.date(2026, 1, 1)


def test_financial_year_and_label():
    quarter = parse("2026/27 Q3")
    assert quarter.fy_label == "2026/27"
    assert [q.label for q in quarter.financial_year()] == ["2026/27 Q1", "2026/27 Q2", "2026/27 Q3", "2026/27 Q4"]


def test_ranges():
    quarters = quarter_range("2025/26 Q3", "2026/27 Q2")
    assert [q.id for q in quarters] == ["2025-26-Q3", "2025-26-Q4", "2026-27-Q1", "2026-27-Q2"]
    assert parse_range("2025-26-Q1..2026-27-Q2")[0] == Quarter(2025, 1)
    assert len(parse_range("2025-26-Q1..2026-27-Q2")) == 6
    assert parse_range("2026-27-Q2") == [Quarter(2026, 2)]
    with pytest.raises(QuarterError, match="backwards"):
        quarter_range("2026/27 Q2", "2025/26 Q1")


def test_ordering_and_shift():
    assert parse("2025/26 Q4") < parse("2026/27 Q1")
    assert parse("2026/27 Q2").shift(-8) == parse("2024/25 Q2")
    assert sorted([parse("2026/27 Q1"), parse("2019/20 Q3")])[0] == parse("2019/20 Q3")


@pytest.mark.parametrize(
    "day, expected",
    [
        (dt.date(2026, 11, 22), "2026/27 Q2"),  # in Q3, so Q2 is the latest complete
        (dt.date(2026, 10, 1), "2026/27 Q2"),  # first day of Q3: Q2 has just ended
        (dt.date(2026, 9, 30), "2026/27 Q1"),  # last day of Q2: Q2 not yet complete
        (dt.date(2026, 4, 1), "2025/26 Q4"),
        (dt.date(2027, 1, 15), "2026/27 Q3"),
        (dt.date(2026, 3, 31), "2025/26 Q3"),
    ],
)
def test_latest_complete_quarter(day, expected):
    assert latest_complete(day) == parse(expected)


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2026-03-31", "2025/26 Q4"),
        ("2026-04-01", "2026/27 Q1"),
        ("2026-12-31", "2026/27 Q3"),
        ("2027-01-01", "2026/27 Q4"),
    ],
)
def test_quarter_of_date(day, expected):
    assert Quarter.of_date(day) == parse(expected)
    assert parse(expected).contains(pd.Timestamp(day))


def test_vectorised_quarter_of_dates_matches_scalar():
    days = pd.Series(pd.date_range("2018-01-01", "2028-12-31", freq="17D"))
    expected = [Quarter.of_date(d).id for d in days]
    assert quarter_of_dates(days).tolist() == expected


@pytest.mark.parametrize(
    "bad",
    ["2026/28 Q2", "2026/27 Q5", "2026/27 Q0", "Q2 2026", "2026 Q2", "26/27 Q2", "", "2026/27", "2026-27-Q2x"],
)
def test_bad_labels_are_clear_errors_showing_an_accepted_form(bad):
    with pytest.raises(QuarterError) as excinfo:
        parse(bad)
    message = str(excinfo.value)
    assert repr(bad) in message
    assert "2026/27 Q2" in message  # shows an accepted form


def test_non_text_label_is_rejected():
    with pytest.raises(QuarterError, match="2026/27 Q2"):
        parse(202627)


def test_boardpack_today_fixes_the_date_the_latest_quarter_is_counted_from(monkeypatch):
    from helpers.quarters import current_date

    monkeypatch.setenv("BOARDPACK_TODAY", "2027-01-05")
    assert current_date().isoformat() == "2027-01-05"
    assert latest_complete() == parse("2026/27 Q3")
    monkeypatch.setenv("BOARDPACK_TODAY", "5 Jan 2027")
    with pytest.raises(QuarterError, match="BOARDPACK_TODAY"):
        latest_complete()
    monkeypatch.delenv("BOARDPACK_TODAY")
    assert latest_complete() == latest_complete(dt.date.today())
