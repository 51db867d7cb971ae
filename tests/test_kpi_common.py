"""helpers.kpi_common: ICB slicing, quarter arithmetic on columns, open-in-quarter, disclosure."""

import gc

import numpy as np
import pandas as pd
import pytest
from backtest.frames import make_data, study

from helpers import kpi_common as kc
from helpers.loading import Data
from helpers.quarters import Quarter, parse


def test_quarter_ordinals_match_quarter_of_date():
    days = pd.Series(pd.to_datetime(["2019-04-01", "2019-06-30", "2019-07-01", "2020-01-01", "2020-03-31", None]))
    ordinals = kc.quarter_ordinals(days)
    expected = [Quarter.of_date(d).ordinal for d in days[:-1]]
    assert list(ordinals[:-1]) == expected
    assert np.isnan(ordinals[-1])


def test_quarter_ordinals_of_every_day_from_1999_to_2041():
    days = pd.Series(pd.date_range("1999-01-01", "2041-12-31", freq="D"))
    expected = (days.dt.year * 12 + days.dt.month - 4) // 3  # Quarter.ordinal by its definition
    assert (kc.quarter_ordinals(days) == expected.to_numpy()).all()


def test_quarter_id_ordinals_and_back():
    ids = pd.Series(["2026-27-Q2", "2019-20-Q4"], dtype="string")
    ordinals = kc.quarter_id_ordinals(ids)
    assert list(ordinals) == [parse("2026/27 Q2").ordinal, parse("2019/20 Q4").ordinal]
    assert kc.quarter_ids(ordinals) == ["2026-27-Q2", "2019-20-Q4"]


def test_open_matrix_boundaries():
    studies = make_data(
        studies=[
            study("opens_last_day", "2020-06-30"),
            study("closes_first_day", "2019-01-01", "2020-04-01"),
            study("closed_day_before", "2019-01-01", "2020-03-31"),
            study("never_opened", None),
        ]
    ).studies
    open_q1 = kc.open_matrix(studies, np.array([parse("2020-21-Q1").ordinal]))[:, 0]
    assert list(open_q1) == [True, True, False, False]


def test_open_at_end_excludes_a_study_closing_on_the_last_day():
    studies = make_data(
        studies=[study("a", "2020-04-01", "2020-06-30"), study("b", "2020-04-01", "2020-07-01")]
    ).studies
    assert list(kc.open_at_end(studies, parse("2020-21-Q1"))["StudyId"]) == ["b"]


def test_icb_slice_filters_each_table_by_its_icb_and_is_cached():
    data = make_data(
        studies=[study("mine", "2020-01-01"), study("theirs", "2020-01-01", lead="RRK")],
        recruitment=[
            {"StudyId": "theirs", "OrganisationCode": "RKB", "Month": "2020-02-01", "Participants": 4},
            {"StudyId": "theirs", "OrganisationCode": "RRK", "Month": "2020-02-01", "Participants": 9},
        ],
        engagement=[
            {"IcbCode": "QWU", "Quarter": "2020-21-Q1", "Measure": "events", "Value": 1},
            {"IcbCode": "QHL", "Quarter": "2020-21-Q1", "Measure": "events", "Value": 2},
        ],
    )
    mine = kc.icb_slice(data, "QWU")
    assert list(mine.studies["StudyId"]) == ["mine"]
    # Recruitment belongs to the recruiting site's ICB, whoever leads the study.
    assert list(mine.recruitment["OrganisationCode"]) == ["RKB"]
    assert list(mine.engagement["Value"]) == [1]
    assert mine.finance is None
    assert kc.icb_slice(data, "QWU") is mine
    assert list(kc.icb_slice(data, "QHL").recruitment["Participants"]) == [9]
    assert len(kc.icb_slice(data, "QYG").studies) == 0  # an ICB with no rows: empty, not an error


def test_icb_slice_cache_is_dropped_with_the_data():
    data = make_data(studies=[study("a", "2020-01-01")])
    kc.icb_slice(data, "QWU")
    key = id(data)
    assert key in kc._slices
    del data
    gc.collect()
    assert key not in kc._slices


def test_icb_slice_needs_organisations_for_organisation_keyed_tables():
    data = Data(studies=make_data(studies=[study("a", "2020-01-01")]).studies)
    with pytest.raises(kc.MissingTableError, match="organisations"):
        kc.icb_slice(data, "QWU")


def test_table_not_loaded_is_a_clear_error():
    with pytest.raises(kc.MissingTableError, match="needs the finance table"):
        kc.table(kc.icb_slice(make_data(), "QWU"), "finance")


def test_by_quarter_zero_fills_and_ignores_rows_after_the_quarter():
    frame = pd.DataFrame({"Month": pd.to_datetime(["2020-01-01", "2020-07-01", "2020-10-01"]), "n": [1, 2, 50]})
    sums = kc.by_quarter(frame, "n", parse("2020-21-Q2"))
    assert kc.quarter_ids(sums.index) == ["2019-20-Q4", "2020-21-Q1", "2020-21-Q2"]
    assert list(sums) == [1, 0, 2]
    earlier = kc.by_quarter(frame, "n", parse("2020-21-Q2"), first=parse("2019-20-Q3").ordinal)
    assert list(earlier) == [0, 1, 0, 2]


def test_by_quarter_of_an_empty_table_is_one_zero_quarter():
    frame = pd.DataFrame({"Month": pd.to_datetime([]), "n": []})
    sums = kc.by_quarter(frame, "n", parse("2020-21-Q2"))
    assert list(sums) == [0] and kc.quarter_ids(sums.index) == ["2020-21-Q2"]


def test_rolling_sum_needs_four_quarters():
    rolled = kc.rolling_sum(pd.Series([1, 2, 3, 4, 5]))
    assert rolled.isna().tolist()[:3] == [True, True, True]
    assert list(rolled[3:]) == [10, 14]


def test_window_ordinals():
    q = parse("2020-21-Q2")
    assert kc.window_ordinals(q, "quarter") == (q.ordinal, q.ordinal)
    assert kc.window_ordinals(q, "rolling_12_months") == (q.ordinal - 3, q.ordinal)
    with pytest.raises(ValueError, match="window must be"):
        kc.window_ordinals(q, "year")


def test_share_is_nan_for_a_zero_denominator():
    out = kc.share([1, 2], [4, 0])
    assert out[0] == 25.0 and np.isnan(out[1])


def test_published_counts_suppress_and_round_each_cell_and_keep_missing():
    frame = pd.DataFrame({"n": pd.array([0, 3, 12, None], dtype="Int64"), "other": [1, 2, 3, 4]})
    shown = kc.published_counts(frame, ["n"])
    assert list(shown["n"][:3]) == [0, "*", 10] and pd.isna(shown["n"].iloc[3])
    assert list(shown["other"]) == [1, 2, 3, 4]


def test_published_breakdown_adds_a_total_and_hides_a_second_cell():
    frame = pd.DataFrame({"Place": ["A", "B", "C"], "n": [12, 5, 30], "Pct": [0.0, 0.0, 0.0]})
    shown = kc.published_breakdown(frame, ["n"], "Place", shares={"Pct": "n"})
    assert list(shown["Place"]) == ["A", "B", "C", "Total"]
    assert list(shown["n"]) == ["*", "*", 30, 45]
    assert list(shown["Pct"]) == ["*", "*", pytest.approx(200 / 3), 100.0]


def test_published_breakdown_leaves_unknown_out_of_the_shares():
    frame = pd.DataFrame({"Group": ["x", "y", "Unknown"], "n": [40, 60, 30], "Pct": [0.0, 0.0, 0.0]})
    shown = kc.published_breakdown(frame, ["n"], "Group", shares={"Pct": "n"}, unknown_label="Unknown")
    assert list(shown["Group"]) == ["x", "y", "Total (known)", "Unknown"]
    assert list(shown["n"]) == [40, 60, 100, 30]
    assert list(shown["Pct"][:3]) == [40.0, 60.0, 100.0] and np.isnan(shown["Pct"].iloc[3])


def test_frame_ordinals_are_computed_once_per_frame_and_read_only():
    frame = pd.DataFrame({"Month": pd.to_datetime(["2020-04-01", "2020-07-01"])})
    first = kc.frame_ordinals(frame, "Month")
    assert kc.frame_ordinals(frame, "Month") is first
    assert list(first) == [parse("2020-21-Q1").ordinal, parse("2020-21-Q2").ordinal]
    with pytest.raises(ValueError):
        first[0] = 0


def test_history_start_is_the_earliest_period_of_any_periodic_table_of_any_icb():
    data = make_data(
        recruitment=[{"StudyId": "a", "OrganisationCode": "RKB", "Month": "2018-05-01", "Participants": 1}],
        finance=[
            {"Quarter": "2017-18-Q4", "OrganisationCode": "RRK", "IncomeStream": "grants", "AmountGBP": 1.0},
            {"Quarter": "2019-20-Q1", "OrganisationCode": "RKB", "IncomeStream": "grants", "AmountGBP": 1.0},
        ],
    )
    # RRK is another ICB: the rule is over the whole data, so every ICB's history is as long.
    assert kc.history_start(data, parse("2020-21-Q1")) == parse("2017-18-Q4").ordinal
    # Rows after the quarter reported do not count.
    assert kc.history_start(data, parse("2017-18-Q3")) is None
    assert kc.history_start(make_data(studies=[study("a", "2013-05-01")]), parse("2020-21-Q1")) is None


def test_study_history_starts_with_the_data_not_the_first_opening():
    studies = [study("a", "2013-05-01")]
    recruitment = [{"StudyId": "a", "OrganisationCode": "RKB", "Month": "2018-06-01", "Participants": 1}]
    quarter = parse("2019-20-Q1")
    with_data = make_data(studies=studies, recruitment=recruitment)
    index = kc.study_history_index(with_data, with_data.studies, quarter)
    assert kc.quarter_ids(index) == ["2018-19-Q1", "2018-19-Q2", "2018-19-Q3", "2018-19-Q4", "2019-20-Q1"]
    # A baseline before the data pulls the start back.
    assert (
        kc.quarter_ids(
            kc.study_history_index(with_data, with_data.studies, quarter, first=parse("2017-18-Q4").ordinal)
        )[0]
        == "2017-18-Q4"
    )
    # Studies only: the first opening is all there is.
    studies_only = make_data(studies=studies)
    assert kc.quarter_ids(kc.study_history_index(studies_only, studies_only.studies, quarter))[0] == "2013-14-Q1"


def test_long_histories_gives_each_icb_its_own_quarters_in_the_order_given():
    quarter = parse("2026/27 Q2")
    base = quarter.ordinal - 3
    values = np.arange(12, dtype="float64").reshape(3, 4)
    frame = kc.long_histories(
        ["QWU", "QOX", "QHG"], quarter, base, [base, quarter.ordinal - 1, base + 9], {"Value": values}
    )
    assert list(frame.columns) == ["IcbCode", "Quarter", "Value"]
    assert list(frame["IcbCode"]) == ["QWU"] * 4 + ["QOX"] * 2 + ["QHG"]  # a start after the quarter: the quarter only
    assert list(frame["Quarter"]) == [
        "2025-26-Q3", "2025-26-Q4", "2026-27-Q1", "2026-27-Q2", "2026-27-Q1", "2026-27-Q2", "2026-27-Q2"
    ]  # fmt: skip
    assert list(frame["Value"]) == [0, 1, 2, 3, 6, 7, 11]
    with pytest.raises(ValueError, match="before the first column"):
        kc.long_histories(["QWU"], quarter, base, [base - 1], {"Value": values[:1]})


def test_remembered_computes_once_per_data_key_and_tables():
    """What several all-ICB rules derive from the same rows is computed once per data object and
    key, and afresh when a table it is derived from was replaced."""
    import pandas as pd

    from helpers.loading import Data

    data = Data(recruitment=pd.DataFrame({"Participants": [1, 2]}))
    calls = []

    def total():
        calls.append(1)
        return int(data.recruitment["Participants"].sum())

    assert kc.remembered(data, ("total",), total, ("recruitment",)) == 3
    assert kc.remembered(data, ("total",), total, ("recruitment",)) == 3
    assert len(calls) == 1
    data.recruitment = pd.DataFrame({"Participants": [5]})
    assert kc.remembered(data, ("total",), total, ("recruitment",)) == 5
    assert len(calls) == 2
    assert kc.remembered(Data(recruitment=data.recruitment), ("total",), total, ("recruitment",)) == 5
    assert len(calls) == 3  # another data object: its own memo
