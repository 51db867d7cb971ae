"""helpers.funnel (FunnelPlotR data_type = "PR") against figures worked by hand.

Useful identities for a target of 0.5 (theta = asin(sqrt(0.5)) = pi/4):
asin(sqrt(1/4)) = pi/6, asin(sqrt(3/4)) = pi/3, and sin(pi/4 +/- x)^2 = (1 +/- sin(2x)) / 2,
so a limit with half-width x on the angle scale is (1 -/+ sin(2x)) / 2.
FunnelPlotR's tests and vignettes give no numeric values for PR; as an extra check the last tests
compare the module with a line-by-line transcription of FunnelPlotR's R code (below).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from helpers.funnel import (
    POSITIONS,
    Z95,
    Z998,
    dispersion_ratio,
    funnel,
    funnel_curves,
    funnel_limits,
    tau_squared,
    winsorise,
)

PI = math.pi


def frame(numerators, denominators, codes=None) -> pd.DataFrame:
    codes = codes or [f"U{i}" for i in range(len(numerators))]
    return pd.DataFrame({"IcbCode": codes, "Numerator": numerators, "Denominator": denominators})


# Case A, no overdispersion: 1/4, 2/4, 3/4, 2/4 and 8/16.
#   target = (1+2+3+2+8) / (4+4+4+4+16) = 16/32 = 0.5, theta = pi/4
#   Y = pi/6, pi/4, pi/3, pi/4, pi/4;  s = 1/(2*sqrt(4)) = 0.25 (n=4), 1/(2*sqrt(16)) = 0.125 (n=16)
#   z = (pi/6 - pi/4)/0.25 = -pi/3, 0, +pi/3, 0, 0
#   sorted z: -pi/3, 0, 0, 0, pi/3 (N = 5). R type 7: 10% point at h = (5-1)*0.1 = 0.4:
#     -pi/3 + 0.4*(0 - (-pi/3)) = -0.6*pi/3 = -0.2*pi;  90% point at h = 3.6: 0 + 0.6*pi/3 = 0.2*pi
#   winsorised: -0.2pi, 0, 0.2pi, 0, 0;  phi = (0.04pi^2 + 0.04pi^2)/5 = 0.016*pi^2 = 0.1579
#   N*phi = 0.7896 < N-1 = 4, so tau2 = 0; phi <= 1: unadjusted limits.
CASE_A = frame([1, 2, 3, 2, 8], [4, 4, 4, 4, 16], list("ABCDE"))

# Case B, overdispersion: 25, 50, 50, 50, 75 of 100 each.
#   target 250/500 = 0.5, theta = pi/4; s = 1/(2*10) = 0.05
#   z = (pi/6 - pi/4)/0.05 = -(pi/12)*20 = -5pi/3 = -5.235988, 0, 0, 0, +5pi/3
#   10% point: -5pi/3 + 0.4*(5pi/3) = -pi; 90% point: 0 + 0.6*(5pi/3) = pi
#   phi = (pi^2 + pi^2)/5 = 2pi^2/5 = 3.947842 > 1
#   N*phi = 2pi^2 = 19.739209 >= N-1 = 4
#   w = 1/s^2 = 400 each: sum w = 2000, sum w^2 = 5*160000 = 800000, sum w^2 / sum w = 400
#   tau2 = (19.739209 - 4) / (2000 - 400) = 15.739209/1600 = 0.009837006
#   sd at n=100 = sqrt(0.05^2 + tau2) = sqrt(0.0025 + 0.009837006) = sqrt(0.012337006) = 0.111072
CASE_B = frame([25, 50, 50, 50, 75], [100] * 5, list("ABCDE"))


def test_case_a_z_scores_phi_and_no_overdispersion():
    result = funnel(CASE_A)
    units = result.units.set_index("IcbCode")
    assert result.target == 0.5
    assert units["Z"].tolist() == pytest.approx([-PI / 3, 0, PI / 3, 0, 0], abs=1e-12)
    assert units["ZWinsorised"].tolist() == pytest.approx([-0.2 * PI, 0, 0.2 * PI, 0, 0], abs=1e-12)
    assert result.phi == pytest.approx(0.016 * PI**2)  # 0.1579
    assert result.phi == pytest.approx(0.157914, abs=1e-6)
    assert result.tau2 == 0
    assert result.overdispersed is False
    assert units["ZAdjusted"].tolist() == pytest.approx(units["Z"].tolist())


def test_case_a_limits_are_the_unadjusted_ones():
    result = funnel(CASE_A)
    units = result.units.set_index("IcbCode")
    # n = 4: half-width 1.959964 * 0.25 = 0.489991; (1 -/+ sin(0.979982))/2 = (1 -/+ 0.830488)/2
    assert units.at["A", "Lower95"] == pytest.approx((1 - math.sin(2 * Z95 * 0.25)) / 2)
    assert units.at["A", "Lower95"] == pytest.approx(0.084756, abs=1e-6)
    assert units.at["A", "Upper95"] == pytest.approx(0.915244, abs=1e-6)
    # n = 16: half-width 1.959964 * 0.125 = 0.2449955; (1 -/+ sin(0.489991))/2 = (1 -/+ 0.470618)/2
    assert units.at["E", "Lower95"] == pytest.approx(0.264691, abs=1e-6)
    assert units.at["E", "Upper95"] == pytest.approx(0.735309, abs=1e-6)
    # n = 16, 99.8%: half-width 3.090232 * 0.125 = 0.386279; (1 -/+ sin(0.772558))/2 = (1 -/+ 0.697970)/2
    assert units.at["E", "Lower998"] == pytest.approx((1 - math.sin(2 * Z998 * 0.125)) / 2)
    assert units.at["E", "Lower998"] == pytest.approx(0.151015, abs=1e-6)
    # The same as funnel_limits with tau2 = 0, and nothing is an outlier.
    unadjusted = funnel_limits(0.5, [4, 4, 4, 4, 16])
    for column in ("Lower95", "Upper95", "Lower998", "Upper998"):
        assert units[column].tolist() == pytest.approx(unadjusted[column].tolist())
    assert not units[["High998", "Low998", "High95", "Low95"]].any().any()
    assert set(units["Position"]) == {"within the 95% limits"}


def test_case_b_winsorised_phi_and_tau2():
    result = funnel(CASE_B)
    units = result.units.set_index("IcbCode")
    assert units["Z"].tolist() == pytest.approx([-5 * PI / 3, 0, 0, 0, 5 * PI / 3])
    assert units.at["A", "Z"] == pytest.approx(-5.235988, abs=1e-6)
    assert units["ZWinsorised"].tolist() == pytest.approx([-PI, 0, 0, 0, PI])
    assert result.phi == pytest.approx(2 * PI**2 / 5)
    assert result.phi == pytest.approx(3.947842, abs=1e-6)
    assert result.tau2 == pytest.approx((2 * PI**2 - 4) / 1600)
    assert result.tau2 == pytest.approx(0.009837006, abs=1e-9)
    assert result.overdispersed is True


def test_case_b_limits_and_adjusted_z_step_by_step():
    result = funnel(CASE_B)
    units = result.units.set_index("IcbCode")
    tau2 = (2 * PI**2 - 4) / 1600
    sd = math.sqrt(0.05**2 + tau2)  # 0.111072
    assert sd == pytest.approx(0.111072, abs=1e-6)
    # Upper 95%: sin(pi/4 + 1.959964*0.111072)^2 = sin(1.003093)^2 = (1 + sin(0.435397))/2 = 0.710884
    expected_upper95 = math.sin(PI / 4 + Z95 * sd) ** 2
    assert expected_upper95 == pytest.approx(0.710884, abs=1e-6)
    assert units.at["E", "Upper95"] == pytest.approx(expected_upper95)
    # Lower 99.8%: sin(pi/4 - 3.090232*0.111072)^2 = (1 - sin(0.686476))/2 = 0.183092
    assert units.at["A", "Lower998"] == pytest.approx(math.sin(PI / 4 - Z998 * sd) ** 2)
    assert units.at["A", "Lower998"] == pytest.approx(0.183092, abs=1e-6)
    # Wider than the unadjusted limits at n = 100: (1 + sin(2*1.959964*0.05))/2 = 0.597525
    assert units.at["E", "Upper95"] > (1 + math.sin(2 * Z95 * 0.05)) / 2
    # Adjusted z: (pi/6 - pi/4)/0.111072 = -0.261799/0.111072 = -2.357023
    assert units.at["A", "ZAdjusted"] == pytest.approx(-(PI / 12) / sd)
    assert units.at["A", "ZAdjusted"] == pytest.approx(-2.357023, abs=1e-6)


def test_case_b_outlier_flags_at_95_but_not_998():
    units = funnel(CASE_B).units.set_index("IcbCode")
    # E: 0.75 > upper 95% 0.710884 but < upper 99.8% 0.816908; A: 0.25 < lower 95% 0.289116
    assert units.at["E", "Upper998"] == pytest.approx(0.816908, abs=1e-6)
    assert units.at["A", "Lower95"] == pytest.approx(0.289116, abs=1e-6)
    assert units.loc["E", ["High95", "High998", "Low95", "Low998"]].tolist() == [True, False, False, False]
    assert units.loc["A", ["High95", "High998", "Low95", "Low998"]].tolist() == [False, False, True, False]
    assert units.loc[["A", "B", "E"], "Position"].tolist() == [
        "below the 95% limits",
        "within the 95% limits",
        "above the 95% limits",
    ]


def test_multiplier_scales_values_and_limits_but_not_the_statistics():
    plain = funnel(CASE_B)
    per_10k = funnel(CASE_B, multiplier=10_000)
    units = per_10k.units.set_index("IcbCode")
    assert units["Value"].tolist() == [2500, 5000, 5000, 5000, 7500]  # 25/100 * 10,000
    assert per_10k.target_value == 5000
    assert per_10k.target == 0.5
    assert units.at["E", "Upper95"] == pytest.approx(7108.84, abs=0.01)  # 0.710884 * 10,000
    for column in ("Lower95", "Upper95", "Lower998", "Upper998"):
        assert units[column].tolist() == pytest.approx((plain.units[column] * 10_000).tolist())
    assert (per_10k.phi, per_10k.tau2) == (plain.phi, plain.tau2)
    assert units["Z"].tolist() == plain.units["Z"].tolist()
    assert units["High95"].tolist() == plain.units["High95"].tolist()


def test_extreme_units_are_winsorised_away_and_flagged_beyond_998():
    # Ten units at 50/100, one at 90/100 and one at 10/100: target 600/1200 = 0.5.
    # z(90/100) = (asin(sqrt(0.9)) - pi/4)/0.05 = (1.249046 - 0.785398)/0.05 = 9.272952; z(10/100) = -9.272952
    # N = 12: 10% point at h = 11*0.1 = 1.1, between two zeros: 0; 90% point at h = 9.9: 0.
    # Every z winsorised to 0: phi = 0, tau2 = 0, unadjusted limits.
    # At n = 100, 99.8%: (1 -/+ sin(2*3.090232*0.05))/2 = (1 -/+ sin(0.309023))/2 = (1 -/+ 0.304128)/2
    data = frame([50] * 10 + [90, 10], [100] * 12, [f"P{i}" for i in range(10)] + ["HIGH", "LOW"])
    result = funnel(data)
    units = result.units.set_index("IcbCode")
    assert units.at["HIGH", "Z"] == pytest.approx(9.272952, abs=1e-6)
    assert result.phi == 0 and result.tau2 == 0 and not result.overdispersed
    assert units.at["HIGH", "Upper998"] == pytest.approx(0.652064, abs=1e-6)
    assert units.at["LOW", "Lower998"] == pytest.approx(0.347936, abs=1e-6)
    assert units.loc["HIGH", ["High998", "High95", "Low998", "Low95"]].tolist() == [True, True, False, False]
    assert units.loc["LOW", ["High998", "High95", "Low998", "Low95"]].tolist() == [False, False, True, True]
    assert units.at["HIGH", "Position"] == POSITIONS[0] == "above the 99.8% limits"
    assert units.at["LOW", "Position"] == POSITIONS[-1] == "below the 99.8% limits"
    assert units.loc["P0":"P9", "Position"].eq("within the 95% limits").all()


def test_tau2_can_be_positive_while_phi_is_at_most_1_and_then_is_not_used():
    # FunnelPlotR's tau_func: tau2 = 0 only when N*phi < N-1. phi = 0.9, N = 5: 4.5 >= 4, so
    # tau2 = (4.5 - 4)/(2000 - 400) = 0.0003125 with s = 0.05 (w = 400); funnel_plot then draws
    # unadjusted limits because phi <= 1.
    assert tau_squared(0.9, np.full(5, 0.05)) == pytest.approx(0.5 / 1600)
    assert tau_squared(0.75, np.full(5, 0.05)) == 0  # 3.75 < 4
    assert tau_squared(1.0, np.full(5, 0.05)) == pytest.approx(1 / 1600)


def test_winsorise_is_r_quantile_type_7_and_phi_is_the_mean_square():
    # R: quantile(c(1, 2, 3, 4, 10), c(0.1, 0.9)) = 1.4, 7.6 (h = 0.4: 1 + 0.4*1; h = 3.6: 4 + 0.6*6)
    assert winsorise(np.array([1, 2, 3, 4, 10.0])).tolist() == pytest.approx([1.4, 2, 3, 4, 7.6])
    assert dispersion_ratio(np.array([1.0, -1.0, 2.0, 0.0])) == pytest.approx((1 + 1 + 4 + 0) / 4)


def test_adjust_false_uses_unadjusted_limits_but_reports_phi_and_tau2():
    result = funnel(CASE_B, adjust=False)
    assert result.overdispersed is False
    assert result.phi == pytest.approx(2 * PI**2 / 5)
    assert result.tau2 == pytest.approx((2 * PI**2 - 4) / 1600)
    assert result.units["Upper95"].iloc[0] == pytest.approx((1 + math.sin(2 * Z95 * 0.05)) / 2)


def test_limits_are_clamped_to_0_and_the_multiplier():
    # target 0.01: theta = asin(0.1) = 0.100167; n = 10: sd = 1/(2*sqrt(10)) = 0.158114;
    # lower angle 0.100167 - 1.959964*0.158114 = -0.209725 < 0, so the lower 95% limit is 0
    # (not sin(-0.209725)^2 = 0.0434); target 0.99: the upper angle passes pi/2, so the upper is 1.
    low = funnel_limits(0.01, [10])
    assert low.at[0, "Lower95"] == 0
    assert low.at[0, "Upper95"] == pytest.approx(math.sin(math.asin(0.1) + Z95 / (2 * math.sqrt(10))) ** 2)
    high = funnel_limits(0.99, [10], multiplier=100)
    assert high.at[0, "Upper95"] == 100


def test_curves_span_3_to_the_largest_denominator_with_each_unit_and_are_monotone():
    result = funnel(CASE_B)
    curves = funnel_curves(result)
    assert curves["Denominator"].iloc[0] == 3
    assert curves["Denominator"].iloc[-1] == 100
    assert curves["Denominator"].is_monotonic_increasing
    assert len(curves) == 1000  # 100 is already the grid's last point
    # At n = 3, unadjusted 99.8%: pi/4 - 3.090232/(2*sqrt(3)) = 0.785398 - 0.892073 < 0 -> 0 and 1.
    assert curves.at[0, "UnadjustedLower998"] == 0 and curves.at[0, "UnadjustedUpper998"] == 1
    for side, monotone in (("Lower", "is_monotonic_increasing"), ("Upper", "is_monotonic_decreasing")):
        for level in ("95", "998"):
            assert getattr(curves[f"{side}{level}"], monotone)
            assert getattr(curves[f"Unadjusted{side}{level}"], monotone)
    # Overdispersed: the limits in use are wider than the unadjusted ones.
    assert (curves["Upper95"] >= curves["UnadjustedUpper95"]).all()
    assert (curves["Lower95"] <= curves["UnadjustedLower95"]).all()
    # The curve's value at 100 is the units' limit.
    assert curves.iloc[-1]["Upper95"] == pytest.approx(result.units["Upper95"].iloc[0])


def test_curves_include_unit_denominators_and_equal_unadjusted_when_not_overdispersed():
    result = funnel(CASE_A)
    curves = funnel_curves(result, min_denominator=1, max_denominator=20, points=5)
    assert curves["Denominator"].tolist() == [1, 4, 5.75, 10.5, 15.25, 16, 20]
    assert curves["Upper95"].tolist() == curves["UnadjustedUpper95"].tolist()
    assert result.limits([16])["Upper95"].iloc[0] == pytest.approx(0.735309, abs=1e-6)


@pytest.mark.parametrize(
    ("numerators", "denominators", "message"),
    [
        ([1, 2], [0, 4], r"Denominator must be > 0; it is zero or negative for IcbCode QAA"),
        ([1, 2], [-3, 4], r"zero or negative for IcbCode QAA"),
        ([5, 2], [4, 4], r"Numerator is above Denominator for IcbCode QAA"),
        ([-1, 2], [4, 4], r"Numerator must be >= 0; it is negative for IcbCode QAA"),
        ([float("nan"), 2], [4, 4], r"Numerator missing or not a finite number for IcbCode QAA"),
        (["x", 2], [4, 4], r"not a finite number for IcbCode QAA"),
    ],
)
def test_bad_counts_are_errors_naming_the_icb(numerators, denominators, message):
    with pytest.raises(ValueError, match=message):
        funnel(frame(numerators, denominators, ["QAA", "QBB"]))


def test_other_input_errors():
    with pytest.raises(ValueError, match="IcbCode repeated: QAA"):
        funnel(frame([1, 2], [4, 4], ["QAA", "QAA"]))
    with pytest.raises(ValueError, match="at least 2 units"):
        funnel(frame([1], [4], ["QAA"]))
    with pytest.raises(ValueError, match="missing column"):
        funnel(frame([1, 2], [4, 4]).drop(columns="Numerator"))
    with pytest.raises(ValueError, match="multiplier"):
        funnel(CASE_A, multiplier=0)
    with pytest.raises(ValueError, match="not among"):
        funnel(CASE_A).unit_row("QZZ")


def test_other_column_names():
    data = CASE_B.rename(columns={"IcbCode": "Trust", "Numerator": "Deaths", "Denominator": "Spells"})
    result = funnel(data, "Deaths", "Spells", unit="Trust")
    assert result.unit_row("E")["Upper95"] == pytest.approx(0.710884, abs=1e-6)
    assert list(result.units.columns[:3]) == ["Trust", "Numerator", "Denominator"]


# -- FunnelPlotR transcribed ------------------------------------------------------------------
# R/od_adjustment.R (transformed_zscore, winsorisation, phi_func, tau_func) and
# R/calculate_limits.R + R/build_limits_lookup.R for PR, in plain Python loops: the grid
# seq(3, max_x, length.out = 1000) with the units' denominators added, limits clipped to [0, 1],
# then each grid row compared with the next (a lower limit above the next one set to 0, an upper
# limit below the next one set to 1), as FunnelPlotR does instead of clamping the angle.


def _r_quantile7(values, p):
    x = sorted(values)
    h = (len(x) - 1) * p
    lo = math.floor(h)
    return x[lo] + (h - lo) * (x[min(lo + 1, len(x) - 1)] - x[lo])


def _funnelplotr_pr(num, den, multiplier):
    n_units = len(num)
    target = sum(num) / sum(den)
    theta = math.asin(math.sqrt(target))
    s = [1 / (2 * math.sqrt(d)) for d in den]
    z = [(math.asin(math.sqrt(o / d)) - theta) / si for o, d, si in zip(num, den, s)]
    lz, uz = _r_quantile7(z, 0.1), _r_quantile7(z, 0.9)
    wz = [lz if v < lz else uz if v > uz else v for v in z]
    phi = sum(v * v for v in wz) / n_units
    if n_units * phi < n_units - 1:
        tau2 = 0.0
    else:
        w = [1 / si**2 for si in s]
        tau2 = max(0.0, (n_units * phi - (n_units - 1)) / (sum(w) - sum(x * x for x in w) / sum(w)))
    draw_adjusted = phi > 1
    max_x = math.ceil(max(den))
    grid = sorted(set([3 + (max_x - 3) * i / 999 for i in range(1000)] + list(den)))
    t = tau2 if draw_adjusted else 0.0
    cols = {}
    for name, za, sign in (("Lower95", Z95, -1), ("Upper95", Z95, 1), ("Lower998", Z998, -1), ("Upper998", Z998, 1)):
        col = [multiplier * math.sin(theta + sign * za * math.sqrt(1 / (4 * g) + t)) ** 2 for g in grid]
        col = [min(max(v, 0), multiplier) for v in col]
        for i in range(len(col) - 1):
            if sign < 0 and col[i] > col[i + 1]:
                col[i] = 0
            if sign > 0 and col[i] < col[i + 1]:
                col[i] = multiplier
        angles = [theta + sign * za * math.sqrt(1 / (4 * g) + t) for g in grid]
        cols[name] = {g: (v, a) for g, v, a in zip(grid, col, angles)}
    return phi, tau2, draw_adjusted, cols


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.floats(0, 1)).map(lambda t: (round(t[0] * t[1]), t[0])),
        min_size=2,
        max_size=42,
    ),
    st.sampled_from([1, 100, 10_000]),
)
def test_matches_a_transcription_of_funnelplotr(rows, multiplier):
    num = [float(o) for o, _ in rows]
    den = [float(n) for _, n in rows]
    phi, tau2, adjusted, cols = _funnelplotr_pr(num, den, multiplier)
    result = funnel(frame(num, den), multiplier=multiplier)
    assert result.phi == pytest.approx(phi, rel=1e-9, abs=1e-12)
    assert result.tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-15)
    assert result.overdispersed == adjusted
    for column, by_den in cols.items():
        for d, ours in zip(den, result.units[column]):
            theirs, angle = by_den[d]
            if 0 <= angle <= PI / 2:
                assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
            else:  # clamped here; FunnelPlotR's neighbour check gives the clamp or, at the
                # crossing or at the grid's last point, sin(angle)^2 of a small angle
                assert ours == (0 if column.startswith("Lower") else multiplier)


@pytest.mark.parametrize("seed", range(6))
def test_binomial_data_match_the_transcription_with_and_without_overdispersion(seed):
    # 42 units drawn from one binomial proportion (phi near 1: some seeds above, some below).
    rng = np.random.default_rng(seed)
    den = rng.integers(200, 3000, 42).astype(float)
    num = rng.binomial(den.astype(int), 0.3).astype(float)
    phi, tau2, adjusted, cols = _funnelplotr_pr(list(num), list(den), 10_000)
    result = funnel(frame(num, den), multiplier=10_000)
    assert (result.phi, result.overdispersed) == (pytest.approx(phi), adjusted)
    assert result.tau2 == pytest.approx(tau2, abs=1e-15)
    for column, by_den in cols.items():
        assert result.units[column].tolist() == pytest.approx([by_den[d][0] for d in den], rel=1e-9)


def test_the_seeds_above_cover_both_branches():
    phis = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        den = rng.integers(200, 3000, 42).astype(float)
        num = rng.binomial(den.astype(int), 0.3).astype(float)
        phis.append(funnel(frame(num, den)).phi)
    assert min(phis) <= 1 < max(phis)
