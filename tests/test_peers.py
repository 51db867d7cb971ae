"""helpers.peers: England and region aggregation, ranks, quartiles and peer groups, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import population
from helpers.peers import (
    england_value,
    icb_values,
    peer_codes,
    peer_figures,
    quartile,
    rank,
    ranked,
    region_values,
)

SMALL = pd.DataFrame({"IcbCode": ["QWU", "QHL", "QRV"], "Numerator": [30, 10, 60], "Denominator": [1000, 500, 1500]})


def national() -> pd.DataFrame:
    """All 42 ICBs at 100/1000 except QRV 200/1000 (best), QWU and QHL 150/1000 (tied second) and
    QE1 50/1000 (worst)."""
    numerators = {"QRV": 200, "QWU": 150, "QHL": 150, "QE1": 50}
    codes = population.icb_codes()
    return pd.DataFrame(
        {"IcbCode": codes, "Numerator": [numerators.get(c, 100) for c in codes], "Denominator": [1000] * 42}
    )


def test_icb_values_carry_names_regions_and_the_multiplier():
    values = icb_values(SMALL, multiplier=10_000).set_index("IcbCode")
    assert values.at["QWU", "Value"] == pytest.approx(300)  # 30/1000 * 10,000
    assert values.at["QHL", "Value"] == pytest.approx(200)  # 10/500 * 10,000
    assert values.at["QWU", "IcbName"] == "NHS Coventry and Warwickshire Integrated Care Board"
    assert values.loc["QWU", ["RegionCode", "RegionName"]].tolist() == ["E40000011", "Midlands"]
    assert values.at["QRV", "RegionName"] == "London"


def test_england_is_the_sum_of_numerators_over_the_sum_of_denominators():
    # (30 + 10 + 60) / (1000 + 500 + 1500) = 100/3000 = 0.033333, not the mean of the values
    # (0.03 + 0.02 + 0.04)/3 = 0.03
    assert england_value(SMALL) == pytest.approx(100 / 3000)
    assert england_value(SMALL, multiplier=10_000) == pytest.approx(333.333333)


def test_region_values_sum_their_icbs():
    regions = region_values(SMALL).set_index("RegionName")
    assert list(regions.index) == ["London", "Midlands"]  # regions with data, by name
    # Midlands: QWU + QHL = (30 + 10)/(1000 + 500) = 40/1500 = 0.026667; London: QRV 60/1500 = 0.04
    assert regions.at["Midlands", "Value"] == pytest.approx(40 / 1500)
    assert regions.at["London", "Value"] == pytest.approx(0.04)
    assert regions.loc["Midlands", ["Icbs", "IcbsInRegion", "Numerator", "Denominator"]].tolist() == [2, 11, 40, 1500]
    assert regions.at["London", "IcbsInRegion"] == 5
    assert regions.at["London", "RegionCode"] == "E40000003"


def test_national_aggregates():
    data = national()
    # England: (38*100 + 200 + 150 + 150 + 50) / 42000 = 4350/42000 = 0.103571
    assert england_value(data) == pytest.approx(4350 / 42000)
    regions = region_values(data).set_index("RegionName")
    # Midlands: QWU and QHL at 150, 9 others at 100: 1200/11000 = 0.109091
    assert regions.at["Midlands", "Value"] == pytest.approx(1200 / 11000)
    # North West: QE1 50 + 2 at 100: 250/3000; London: QRV 200 + 4 at 100: 600/5000
    assert regions.at["North West", "Value"] == pytest.approx(250 / 3000)
    assert regions.at["London", "Value"] == pytest.approx(600 / 5000)
    assert regions["Icbs"].sum() == 42 and (regions["Icbs"] == regions["IcbsInRegion"]).all()


def test_ranks_follow_the_direction_and_ties_share_the_best_rank():
    values = pd.Series([0.5, 0.7, 0.7, 0.2])
    assert rank(values, "increase").tolist() == [3, 1, 1, 4]  # 0.7, 0.7 tie for 1st; 0.5 is 3rd
    assert rank(values, "higher").tolist() == [3, 1, 1, 4]
    assert rank(values, "decrease").tolist() == [2, 3, 3, 1]  # 0.2 best; 0.7s tie for 3rd
    assert rank(values, "lower").tolist() == [2, 3, 3, 1]
    with pytest.raises(ValueError, match="'neutral' cannot rank"):
        rank(values, "neutral")


def test_quartiles_of_42():
    # (r - 1)/41 under 25% -> 1: r - 1 <= 10 (10/41 = 24.4%, 11/41 = 26.8%) so ranks 1-11;
    # under 50%: r - 1 <= 20 (20/41 = 48.8%) so 12-21; under 75%: r - 1 <= 30 (30/41 = 73.2%) so 22-31.
    ranks = pd.Series(range(1, 43))
    quartiles = quartile(ranks, 42)
    assert quartiles.value_counts().sort_index().tolist() == [11, 10, 10, 11]
    assert [quartile(r, 42) for r in (1, 11, 12, 21, 22, 31, 32, 42)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_quartiles_of_small_groups_put_the_best_first_and_the_worst_last():
    assert [quartile(r, 1) for r in (1,)] == [1]
    assert [quartile(r, 2) for r in (1, 2)] == [1, 4]
    assert [quartile(r, 3) for r in (1, 2, 3)] == [1, 3, 4]  # 1/2 = 50%: "50% to under 75%"
    assert [quartile(r, 5) for r in range(1, 6)] == [1, 2, 3, 4, 4]  # 0, 25, 50, 75, 100%
    assert quartile(pd.Series([1, 1, 3]), 3).tolist() == [1, 1, 4]  # a tie shares the better quartile
    with pytest.raises(ValueError, match="between 1 and 3"):
        quartile(4, 3)


def test_ranked_sorts_best_first():
    table = ranked(icb_values(SMALL), "increase")
    assert table["IcbCode"].tolist() == ["QRV", "QWU", "QHL"]  # 0.04, 0.03, 0.02
    assert table["Rank"].tolist() == [1, 2, 3]
    assert table["Quartile"].tolist() == [1, 3, 4]


def test_peer_figures_among_england():
    figures = peer_figures(national(), "QWU", "increase")
    # QRV first; QWU and QHL tie at 0.15 for rank 2; the 38 at 0.1 share rank 4; QE1 is 42nd.
    assert (figures.rank, figures.of) == (2, 42)
    assert figures.quartile == 1  # 1 of the other 41 ranks ahead: 2.4%
    assert figures.value == pytest.approx(0.15)
    assert figures.england == pytest.approx(4350 / 42000)
    assert figures.peer_value == figures.england
    assert figures.region == population.Region("E40000011", "Y60", "Midlands")
    assert figures.region_value == pytest.approx(1200 / 11000)
    assert figures.peers == "England"
    table = figures.table.set_index("IcbCode")
    assert table.at["QHL", "Rank"] == 2 and table.at["QE1", "Rank"] == 42
    assert table.at["QHM", "Rank"] == 4 and table.at["QHM", "Quartile"] == 1  # 3/41 ahead: 7.3%
    assert table.at["QE1", "Quartile"] == 4


def test_peer_figures_for_a_lower_is_better_kpi():
    figures = peer_figures(national(), "QWU", "decrease")
    # QE1 (0.05) first, then the 38 at 0.1 (rank 2), then QWU and QHL (rank 40), QRV 42nd.
    assert (figures.rank, figures.of, figures.quartile) == (40, 42, 4)  # 39/41 = 95% ahead


def test_peer_figures_among_the_region():
    figures = peer_figures(national(), "qwu", "increase", peers="region")
    # Midlands: QWU and QHL tie for 1st at 0.15; the other 9 share rank 3.
    assert (figures.icb, figures.rank, figures.of, figures.quartile) == ("QWU", 1, 11, 1)
    assert figures.peers == "Midlands"
    assert figures.peer_value == pytest.approx(1200 / 11000) == figures.region_value
    assert set(figures.table["IcbCode"]) == set(peer_codes("QWU", "region"))
    assert len(figures.table) == 11


def test_peer_figures_among_a_chosen_list():
    figures = peer_figures(national(), "QWU", "increase", peers=["QRV", "QE1"], multiplier=10_000)
    # QWU is added: QRV 2000, QWU 1500, QE1 500 per 10,000 -> rank 2 of 3; 1 of 2 others ahead (50%)
    assert (figures.rank, figures.of, figures.quartile) == (2, 3, 3)
    assert figures.value == pytest.approx(1500)
    assert figures.peer_value == pytest.approx((200 + 150 + 50) / 3000 * 10_000)
    assert figures.peers == "a chosen group of 3 ICBs"
    assert figures.table["IcbCode"].tolist() == ["QRV", "QWU", "QE1"]


def test_peer_codes():
    assert len(peer_codes("QWU")) == 42
    assert peer_codes("QWU", "region") == [
        "QGH", "QHL", "QJ2", "QJM", "QK1", "QNC", "QOC", "QPM", "QT1", "QUA", "QWU",
    ]  # fmt: skip
    assert peer_codes("QE1", "region") == ["QE1", "QOP", "QYG"]  # North West
    assert peer_codes("QWU", ["qhl", " QRV "]) == ["QHL", "QRV", "QWU"]
    assert peer_codes("QWU", "england", available=["QWU", "QHL"]) == ["QHL", "QWU"]
    with pytest.raises(population.UnknownIcbError, match="XXX"):
        peer_codes("QWU", ["XXX"])
    with pytest.raises(ValueError, match="peers must be"):
        peer_codes("QWU", "world")


def test_england_peers_are_the_icbs_with_data():
    data = national()
    data = data[data["IcbCode"] != "QRV"]  # 41 ICBs
    figures = peer_figures(data, "QWU", "increase")
    assert (figures.rank, figures.of) == (1, 41)
    assert figures.england == pytest.approx(4150 / 41000)


def test_errors_name_the_icb():
    with pytest.raises(ValueError, match="Denominator must be > 0; it is zero or negative for IcbCode QHL"):
        icb_values(SMALL.assign(Denominator=[1000, 0, 1500]))
    with pytest.raises(ValueError, match="Numerator is above Denominator for IcbCode QRV"):
        icb_values(SMALL.assign(Numerator=[30, 10, 2000]))
    with pytest.raises(population.UnknownIcbError, match="QZZ"):
        icb_values(SMALL.assign(IcbCode=["QWU", "QHL", "QZZ"]))
    with pytest.raises(ValueError, match="IcbCode repeated: QWU"):
        icb_values(SMALL.assign(IcbCode=["QWU", "qwu", "QRV"]))
    with pytest.raises(ValueError, match="ICB QE1 has no row"):
        peer_figures(SMALL, "QE1", "increase")
    with pytest.raises(ValueError, match="no peer data for ICB.*QE1"):
        peer_figures(SMALL, "QWU", "increase", peers=["QE1"])
    with pytest.raises(ValueError, match="cannot rank"):
        peer_figures(SMALL, "QWU", "neutral")


def test_a_rate_may_exceed_its_denominator_when_not_a_proportion():
    data = SMALL.assign(Numerator=[30, 10, 2000])
    assert icb_values(data, proportion=False).set_index("IcbCode").at["QRV", "Value"] == pytest.approx(2000 / 1500)
