"""helpers.kpi_engagement: engagement measures per quarter with disclosure of people counts."""

from backtest.frames import make_data

from helpers import kpi_engagement as ke


def row(quarter, measure, value, icb="QWU"):
    return {"IcbCode": icb, "Quarter": quarter, "Measure": measure, "Value": value}


def test_engagement_wide_history_with_zero_for_unreported():
    data = make_data(
        engagement=[
            row("2020-21-Q1", "events", 2),
            row("2020-21-Q3", "event_attendance", 40),
            row("2020-21-Q3", "events", 99, icb="QHL"),
            row("2020-21-Q4", "events", 5),
        ]
    )
    out = ke.engagement(data, "2020-21-Q3", "QWU", disclosed=False)
    assert list(out["Quarter"]) == ["2020-21-Q1", "2020-21-Q2", "2020-21-Q3"]
    assert list(out["events"]) == [2, 0, 0]
    assert list(out["event_attendance"]) == [0, 0, 40]


def test_people_measures_are_disclosed_and_others_are_not():
    data = make_data(
        engagement=[
            row("2020-21-Q1", "events", 3),
            row("2020-21-Q1", "ppie_contributors", 3),
            row("2020-21-Q1", "bpor_registrations", 52),
        ]
    )
    out = ke.engagement(data, "2020-21-Q1", "QWU")
    assert out["events"].iloc[0] == 3
    assert out["ppie_contributors"].iloc[0] == "*"
    assert out["bpor_registrations"].iloc[0] == 50


def test_no_engagement_rows_is_one_quarter_of_zeros():
    out = ke.engagement(make_data(engagement=[]), "2020-21-Q1", "QWU")
    assert len(out) == 1 and (out.drop(columns="Quarter").iloc[0] == 0).all()
