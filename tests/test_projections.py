"""Projections to each target date (helpers.projections), on series worked by hand."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from helpers import projections as pj
from helpers.loading import load_data
from helpers.quarters import parse
from helpers.targets import load_targets

Q = ["2023-24-Q1", "2023-24-Q2", "2023-24-Q3", "2023-24-Q4", "2024-25-Q1", "2024-25-Q2"]


def series(values, quarters=Q) -> pd.Series:
    return pd.Series(values, index=quarters[: len(values)], dtype="float64")


# -- Student's t quantile ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        # printed tables of Student's t (and scipy.stats.t.ppf), 6 decimals
        (0.9, 1, 3.077684),
        (0.9, 2, 1.885618),
        (0.9, 3, 1.637744),
        (0.9, 12, 1.356217),
        (0.95, 30, 1.697261),
        (0.975, 10, 2.228139),
        (0.995, 4, 4.604095),
    ],
)
def test_t_quantile_matches_printed_tables(p, df, expected):
    assert pj.t_quantile(p, df) == pytest.approx(expected, abs=1e-6)
    assert pj.t_quantile(1 - p, df) == pytest.approx(-expected, abs=1e-6)


def test_t_quantile_large_df_approaches_the_normal():
    assert pj.t_quantile(0.9, 1e6) == pytest.approx(1.281552, abs=1e-5)
    assert pj.t_quantile(0.5, 7) == 0.0


@pytest.mark.parametrize(("p", "df"), [(0, 3), (1, 3), (0.9, 0)])
def test_t_quantile_refuses_bad_arguments(p, df):
    with pytest.raises(pj.ProjectionError):
        pj.t_quantile(p, df)


# -- the fit and the projection ----------------------------------------------------------------------


def test_perfect_line_projects_exactly_with_a_zero_width_interval():
    # y = 100 + 5x for x = 0..5 (2023/24 Q1 .. 2024/25 Q2); 2025/26 Q2 is x = 9: 100 + 45 = 145.
    p = pj.project(series([100, 105, 110, 115, 120, 125]), 150, "2025/26 Q2", unit="count", what="the count")
    assert p.available
    assert p.slope_per_quarter == pytest.approx(5)
    assert p.projected == pytest.approx(145)
    assert p.low == pytest.approx(145) and p.high == pytest.approx(145)
    assert p.fit.residual_se == 0
    # needed: (150 - 125) over the 4 quarters from 2024/25 Q2 to 2025/26 Q2 = 6.25 a quarter
    # (shown 6.3: the pack rounds half away from zero)
    assert p.quarters_left == 4
    assert p.needed_per_quarter == pytest.approx(6.25)
    assert p.on_course is False and p.target_met is False
    assert p.share_low == pytest.approx(100 * 145 / 150)
    assert pj.projection_sentence(p) == (
        "On the trend since 2023/24 Q1 the count reaches 145 by 2025/26 Q2, 97% of the 150 target; "
        "meeting it needs +6.3 a quarter."
    )


def test_noisy_series_worked_by_hand():
    # x = 0..4, y = 1, 3, 2, 5, 4.
    # mean x = 2, mean y = 3, Sxx = 4+1+0+1+4 = 10, Sxy = (-2)(-2)+(-1)(0)+(0)(-1)+(1)(2)+(2)(1) = 8
    # slope = 8/10 = 0.8, intercept = 3 - 0.8*2 = 1.4
    # fitted 1.4, 2.2, 3.0, 3.8, 4.6; residuals -0.4, 0.8, -1.0, 1.2, -0.6; SSE = 3.6
    # s^2 = 3.6 / (5 - 2) = 1.2, s = 1.095445
    # target quarter 2025/26 Q1 is x0 = 8: projected = 1.4 + 0.8*8 = 7.8
    # prediction SE = s * sqrt(1 + 1/5 + (8-2)^2/10) = sqrt(1.2 * 4.8) = sqrt(5.76) = 2.4
    # 80% interval: t(0.9, 3 df) = 1.637744; half width = 2.4 * 1.637744 = 3.930586
    # low = 3.869414, high = 11.730586; against a target of 10: 38.7% to 117.3%
    # needed: (10 - 4) over the 4 quarters from 2024/25 Q1 to 2025/26 Q1 = 1.5 a quarter
    p = pj.project(series([1, 3, 2, 5, 4]), 10, "2025/26 Q1")
    assert p.fit.slope == pytest.approx(0.8)
    assert p.fit.intercept == pytest.approx(1.4)
    assert p.fit.sxx == pytest.approx(10)
    assert p.fit.residual_se == pytest.approx(math.sqrt(1.2))
    assert p.projected == pytest.approx(7.8)
    assert p.low == pytest.approx(7.8 - 2.4 * 1.637744, abs=1e-5)
    assert p.high == pytest.approx(7.8 + 2.4 * 1.637744, abs=1e-5)
    assert p.share_low == pytest.approx(38.69414, abs=1e-4)
    assert p.share_high == pytest.approx(117.30586, abs=1e-4)
    assert p.needed_per_quarter == pytest.approx(1.5)
    assert p.on_course is False
    # a 95% interval is wider: t(0.975, 3 df) = 3.182446
    wide = pj.project(series([1, 3, 2, 5, 4]), 10, "2025/26 Q1", confidence=0.95)
    assert wide.high - wide.projected == pytest.approx(2.4 * 3.182446, abs=1e-5)


def test_points_frame_runs_from_the_latest_quarter_to_the_target():
    p = pj.project(series([1, 3, 2, 5, 4]), 10, "2025/26 Q1")
    points = pj.projection_points(p)
    assert list(points.columns) == ["Quarter", "Date", "Fit", "Low", "High", "Trajectory"]
    assert points["Trajectory"].isna().all()  # project() alone knows no trajectory
    assert list(points["Quarter"]) == ["2024-25-Q1", "2024-25-Q2", "2024-25-Q3", "2024-25-Q4", "2025-26-Q1"]
    assert points["Date"].iloc[0] == pd.Timestamp("2024-04-01")
    # at x = 4 the fit is 4.6, prediction SE = s*sqrt(1 + 1/5 + 4/10) = sqrt(1.2*1.6)
    assert points["Fit"].iloc[0] == pytest.approx(4.6)
    assert points["High"].iloc[0] - 4.6 == pytest.approx(math.sqrt(1.92) * 1.637744, abs=1e-5)
    assert points.iloc[-1][["Fit", "Low", "High"]].tolist() == pytest.approx([p.projected, p.low, p.high])


def test_needed_per_quarter_and_direction_decrease():
    # days falling 10 a quarter: 200, 190, ..., 150 (x = 0..5); target 100 by 2025/26 Q2 (x = 9)
    # needed: (100 - 150) / 4 = -12.5 a quarter; the trend gives 200 - 90 = 110: short of 100
    p = pj.project(series([200, 190, 180, 170, 160, 150]), 100, "2025/26 Q2", direction="decrease", unit="days")
    assert p.needed_per_quarter == pytest.approx(-12.5)
    assert p.projected == pytest.approx(110)
    assert p.on_course is False
    on = pj.project(series([200, 190, 180, 170, 160, 150]), 115, "2025/26 Q2", direction="decrease", unit="days")
    assert on.on_course is True
    assert pj.projection_sentence(p).endswith("meeting it needs -12.5 days a quarter.")


def test_on_course_sentence_gives_the_trend_beside_what_is_needed():
    # y = 100 + 5x; target 140 by x = 9: projected 145 meets it; needed (140 - 125) / 4 = 3.75
    p = pj.project(series([100, 105, 110, 115, 120, 125]), 140, "2025/26 Q2", what="the count")
    assert p.on_course is True
    assert pj.projection_sentence(p).endswith("meeting it needs +3.8 a quarter (the trend gives +5 a quarter).")


def test_too_short_a_series_gives_no_projection_and_says_why():
    p = pj.project(series([1, 2, 3]), 10, "2025/26 Q1", what="the count")
    assert not p.available
    assert p.projected is None and p.low is None and p.needed_per_quarter is None
    assert p.reason == "3 quarters of data since 2023/24 Q1; a trend needs at least 4"
    assert pj.projection_sentence(p) == (
        "No projection of the count to the 10 target by 2025/26 Q1: "
        "3 quarters of data since 2023/24 Q1; a trend needs at least 4."
    )
    assert pj.projection_points(p).empty
    # missing values do not count as points
    gappy = pj.project(series([1, None, 3, None, 5]), 10, "2025/26 Q1")
    assert not gappy.available and gappy.points == 3


def test_start_quarter_limits_the_fit():
    # 50, 60 before 2023/24 Q3 would pull the line; from Q3 on: 1, 3, 2, 5, 4 as in the hand-worked case
    values = pd.Series(
        [50, 60, 1, 3, 2, 5, 4],
        index=["2023-24-Q1", "2023-24-Q2", "2023-24-Q3", "2023-24-Q4", "2024-25-Q1", "2024-25-Q2", "2024-25-Q3"],
    )
    p = pj.project(values, 10, "2025/26 Q3", start="2023/24 Q3")
    assert p.start == parse("2023/24 Q3") and p.points == 5
    assert p.slope_per_quarter == pytest.approx(0.8)
    assert p.projected == pytest.approx(7.8)


def test_target_already_met():
    p = pj.project(series([100, 105, 110, 115, 120, 125]), 120, "2025/26 Q2", what="the count")
    assert p.target_met and p.on_course
    assert p.needed_per_quarter == 0
    assert pj.projection_sentence(p).endswith("the 120 target; the latest value, 125 in 2024/25 Q2, already meets it.")
    falling = pj.project(series([150, 145, 140, 135, 130, 125]), 120, "2025/26 Q2", what="the count")
    assert falling.target_met and not falling.on_course
    assert pj.projection_sentence(falling).endswith("already meets it, but the trend falls short of it.")


def test_target_date_passed_gives_no_projection():
    p = pj.project(series([1, 2, 3, 4, 5, 6]), 10, "2023/24 Q4")
    assert not p.available
    assert p.reason == "the target date 2023/24 Q4 has passed (data to 2024/25 Q2)"


def test_sentence_in_the_board_style():
    # the example: GBP 4.3m-4.5m by 2027/28 Q4, 75-79% of GBP 5.71m, needs +296k a quarter
    base = pj.project(series([1, 3, 2, 5, 4]), 10, "2027/28 Q4", unit="GBP", what="income")
    p = dataclasses.replace(
        base,
        low=4.3e6,
        high=4.5e6,
        target=5.71e6,
        share_low=100 * 4.3 / 5.71,
        share_high=100 * 4.5 / 5.71,
        needed_per_quarter=296e3,
        on_course=False,
    )
    assert pj.projection_sentence(p) == (
        "On the trend since 2023/24 Q1 income reaches £4.30m-£4.50m by 2027/28 Q4, "
        "75-79% of the £5.71m target; meeting it needs +£296k a quarter."
    )


def test_sentence_units():
    pct = pj.project(series([90, 91, 93, 94, 96]), 110, "2025/26 Q1", unit="percent", what="studies open")
    text = pj.projection_sentence(pct)
    assert "% by 2025/26 Q1" in text and "of the 110.0% target" in text
    assert text.endswith("percentage points a quarter.")
    rate = pj.project(series([210, 212, 215, 216, 219]), 240, "2025/26 Q1", unit="per_10000", what="participation")
    assert "per 10,000 a quarter" in pj.projection_sentence(rate)


def test_bad_arguments():
    with pytest.raises(pj.ProjectionError, match="direction"):
        pj.project(series([1, 2, 3, 4]), 10, "2025/26 Q1", direction="neutral")
    with pytest.raises(pj.ProjectionError, match="more than once"):
        pj.project(pd.Series([1.0, 2.0], index=["2023-24-Q1", "2023/24 Q1"]), 10, "2025/26 Q1")


# -- the headline KPIs ----------------------------------------------------------------------------------


def test_trend_start_is_the_current_spc_period():
    quarters = [q for q in pd.Index([f"{y}-{(y + 1) % 100:02d}-Q{n}" for y in range(2019, 2027) for n in (1, 2, 3, 4)])]
    values = pd.Series(range(len(quarters)), index=quarters, dtype="float64")
    # studies open rebases at Covid (2020/21 Q1) and the plan's start (2023/24 Q1): the last one
    assert pj.trend_start("studies_open_pct_precovid", values) == parse("2023/24 Q1")
    # set-up days rebase at NCVR (2022/23 Q3)
    assert pj.trend_start("setup_median_days", values) == parse("2022/23 Q3")
    # commercial income has no rebase: the plan's start
    assert pj.trend_start("commercial_income", values) == parse("2023/24 Q1")
    # a series starting later starts there
    assert pj.trend_start("commercial_income", values["2024-25-Q1":]) == parse("2024/25 Q1")


def test_kpi_projections_on_the_sample(qwu_sample):
    data = load_data(qwu_sample, "2026/27 Q2")
    found = pj.kpi_projections(data, "2026/27 Q2", "QWU", load_targets())
    assert list(found) == [
        "studies_open_pct_precovid",
        "participants_per_10k",
        "commercial_income",
        "cross_system_studies",
    ]
    income = found["commercial_income"]
    assert income.available and income.start == parse("2023/24 Q1") and income.points == 14
    assert income.target_quarter == parse("2027/28 Q4")
    assert income.low < income.projected < income.high
    assert income.needed_per_quarter == pytest.approx((income.target - income.latest_value) / 6)
    assert pj.projection_sentence(income).startswith("On the trend since 2023/24 Q1 income reaches £")
    # the plan's trajectory rides along to the target date: the target figure at the target quarter
    points = pj.projection_points(income)
    assert points["Trajectory"].iloc[-1] == pytest.approx(income.target)
    assert points["Trajectory"].notna().all() and points["Trajectory"].is_monotonic_increasing
    # targets already due: no projection, the RAG judges them
    assert not found["studies_open_pct_precovid"].available
    assert "has passed" in found["cross_system_studies"].reason


def test_kpi_projections_reuse_the_scorecards_series(qwu_sample):
    from helpers import kpi_activity, section

    data = load_data(qwu_sample, "2026/27 Q2")
    targets = load_targets()
    computed = pj.kpi_projections(data, "2026/27 Q2", "QWU", targets)
    histories: dict = {}
    kpis = section.compute_kpis(
        data, parse("2026/27 Q2"), "QWU", targets, kpi_activity.DEFAULT_BASELINE_QUARTERS, histories=histories
    )
    assert set(computed) <= set(histories)
    assert {k: p.projected for k, p in kpis.projections.items()} == {k: p.projected for k, p in computed.items()}
    # a series given is the one projected (here the income history shifted up by £1m: so is its projection)
    shifted = {**histories, "commercial_income": histories["commercial_income"] + 1_000_000}
    reused = pj.kpi_projections(data, "2026/27 Q2", "QWU", targets, histories=shifted)
    assert reused["commercial_income"].projected == pytest.approx(computed["commercial_income"].projected + 1_000_000)
    assert reused["participants_per_10k"].projected == pytest.approx(computed["participants_per_10k"].projected)
