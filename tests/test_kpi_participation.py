"""helpers.kpi_participation: participants, rates per population, equity breakdowns."""

import numpy as np
import pytest
from backtest.frames import make_data, study

from helpers import kpi_participation as kp


def rec(org, month, n, study_id="a"):
    return {"StudyId": study_id, "OrganisationCode": org, "Month": month, "Participants": n}


def imd(month, decile, n, icb="QWU"):
    return {"IcbCode": icb, "Month": month, "ImdDecile": decile, "Participants": n}


@pytest.fixture
def data():
    return make_data(
        studies=[study("a", "2019-04-01")],
        recruitment=[
            rec("RKB", "2019-04-01", 100),
            rec("RJC", "2019-08-01", 50),
            rec("M86001", "2019-11-01", 3),
            rec("RKB", "2020-02-01", 200),
            rec("RRK", "2020-02-01", 999),
        ],
    )


def test_participants_per_quarter_and_rolling_twelve_months(data):
    out = kp.participants(data, "2019-20-Q4", "QWU", disclosed=False)
    assert list(out["Participants"]) == [100, 50, 3, 200]
    assert out["Rolling12Months"].isna().sum() == 3 and out["Rolling12Months"].iloc[-1] == 353


def test_participants_are_disclosed_by_default(data):
    out = kp.participants(data, "2019-20-Q4", "QWU")
    assert list(out["Participants"]) == [100, 50, "*", 200]
    assert out["Rolling12Months"].iloc[-1] == 355


def test_fewer_than_four_quarters_has_no_rolling_figure(data):
    out = kp.participants_per_10k(data, "2019-20-Q2", "QWU")
    assert len(out) == 2 and out["Per10000"].isna().all()


def test_per_10k_uses_the_icb_population_or_a_given_one(data):
    out = kp.participants_per_10k(data, "2019-20-Q4", "QWU", disclosed=False)
    assert out["Population"].iloc[-1] == 963204  # ONS mid-2022
    assert out["Per10000"].iloc[-1] == pytest.approx(353 / 963204 * 10000)
    assert (
        kp.participants_per_10k(data, "2019-20-Q4", "QWU", population=10000, disclosed=False)["Per10000"].iloc[-1]
        == 353
    )
    # Disclosed: 353 is published as 355 and the rate follows the published count.
    assert kp.participants_per_10k(data, "2019-20-Q4", "QWU", population=10000)["Per10000"].iloc[-1] == pytest.approx(
        355
    )


@pytest.fixture
def mixed_portfolio():
    # Study "n" is not on the NIHR portfolio; "q" is led in another ICB but recruits at RKB.
    return make_data(
        studies=[study("a", "2019-04-01"), study("n", "2019-04-01", portfolio=False), study("q", "2019-04-01")],
        recruitment=[
            rec("RKB", "2019-04-01", 100),
            rec("RKB", "2019-05-01", 40, study_id="n"),
            rec("RJC", "2019-08-01", 50, study_id="q"),
            rec("RJC", "2019-11-01", 12, study_id="n"),
            rec("RKB", "2020-02-01", 200),
        ],
    )


def test_participants_headline_counts_portfolio_studies_only(mixed_portfolio):
    out = kp.participants(mixed_portfolio, "2019-20-Q4", "QWU", disclosed=False)
    assert list(out["Participants"]) == [100, 50, 0, 200]  # 40 and 12 in study n left out
    assert out["Rolling12Months"].iloc[-1] == 350
    rate = kp.participants_per_10k(mixed_portfolio, "2019-20-Q4", "QWU", population=10000, disclosed=False)
    assert rate["Per10000"].iloc[-1] == pytest.approx(350)


def test_participants_not_on_the_portfolio_are_counted_apart(mixed_portfolio):
    apart = kp.participants(mixed_portfolio, "2019-20-Q4", "QWU", disclosed=False, scope="not_portfolio")
    assert list(apart["Quarter"]) == ["2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4"]
    assert list(apart["Participants"]) == [40, 0, 12, 0]
    assert apart["Rolling12Months"].iloc[-1] == 52
    everyone = kp.participants(mixed_portfolio, "2019-20-Q4", "QWU", disclosed=False, scope="all")
    assert list(everyone["Participants"]) == [140, 50, 12, 200]
    shown = kp.participants(mixed_portfolio, "2019-20-Q4", "QWU", scope="not_portfolio")
    assert list(shown["Participants"]) == [40, 0, 10, 0] and shown["Rolling12Months"].iloc[-1] == 50


def test_participants_with_non_portfolio_side_by_side(mixed_portfolio):
    out = kp.participants_with_non_portfolio(mixed_portfolio, "2019-20-Q4", "QWU")
    assert list(out["Participants"]) == [100, 50, 0, 200]
    assert list(out["NotPortfolioParticipants"]) == [40, 0, 10, 0]  # 12 published as 10
    assert out["Rolling12Months"].iloc[-1] == 350 and out["NotPortfolioRolling12Months"].iloc[-1] == 50


def test_non_portfolio_only_history_starts_with_the_first_recruitment(mixed_portfolio):
    # Portfolio recruitment starts in Q1 too, but a scope with none there still lists Q1 as 0.
    data = make_data(
        studies=[study("a", "2019-04-01"), study("n", "2019-04-01", portfolio=False)],
        recruitment=[rec("RKB", "2019-05-01", 40, study_id="n"), rec("RKB", "2019-08-01", 9)],
    )
    out = kp.participants(data, "2019-20-Q2", "QWU", disclosed=False)
    assert list(out["Quarter"]) == ["2019-20-Q1", "2019-20-Q2"] and list(out["Participants"]) == [0, 9]


def test_by_place_and_type_count_portfolio_studies_like_the_headline(mixed_portfolio):
    place = kp.participants_by_place(mixed_portfolio, "2019-20-Q4", "QWU", "rolling_12_months", disclosed=False)
    # RKB (Coventry) 100 + 200; RJC (South Warwickshire) 50 in study q; study n's 40 and 12 left out.
    assert list(place["Participants"]) == [300, 50, 0]
    everyone = kp.participants_by_organisation_type(
        mixed_portfolio, "2019-20-Q4", "QWU", "rolling_12_months", disclosed=False, scope="all"
    )
    assert list(everyone["Participants"]) == [402, 0]  # acute: 140 + 50 + 12 + 200; gp_practice: 0


def test_unknown_scope_is_a_clear_error(mixed_portfolio):
    with pytest.raises(ValueError, match="scope must be one of portfolio, not_portfolio, all"):
        kp.participants(mixed_portfolio, "2019-20-Q4", "QWU", scope="commercial")


@pytest.mark.parametrize("population", [0, -5])
def test_zero_population_is_a_clear_error(data, population):
    with pytest.raises(kp.ZeroPopulationError, match="population for ICB QWU is"):
        kp.participants_per_10k(data, "2019-20-Q4", "QWU", population=population)


def test_by_place_lists_every_place_including_those_with_none(data):
    out = kp.participants_by_place(data, "2019-20-Q4", "QWU", disclosed=False)
    assert list(zip(out["Place"], out["Participants"])) == [
        ("Coventry", 200),
        ("South Warwickshire", 0),
        ("Warwickshire North", 0),
    ]
    rolling = kp.participants_by_place(data, "2019-20-Q4", "QWU", window="rolling_12_months", disclosed=False)
    assert list(rolling["Participants"]) == [303, 50, 0]


def test_by_organisation_type_disclosed_has_a_protected_total(data):
    out = kp.participants_by_organisation_type(data, "2019-20-Q4", "QWU", window="rolling_12_months")
    # acute 350, gp_practice 3 -> '*'; a second cell must hide it from the total: acute.
    assert list(out["OrganisationType"]) == ["acute", "gp_practice", "Total"]
    assert list(out["Participants"]) == ["*", "*", 355]


def test_empty_quarter_has_zero_participants(data):
    out = kp.participants_by_place(data, "2019-20-Q3", "QWU", disclosed=False)
    assert list(out["Participants"]) == [3, 0, 0]
    empty = make_data(studies=[study("a", "2019-04-01")], recruitment=[])
    assert list(kp.participants(empty, "2019-20-Q1", "QWU", disclosed=False)["Participants"]) == [0]


def test_imd_quintiles_and_unknown():
    data = make_data(
        recruitment_imd=[
            imd("2020-04-01", 1, 30),
            imd("2020-04-01", 2, 10),
            imd("2020-04-01", 10, 60),
            imd("2020-04-01", None, 9),
            imd("2020-04-01", 1, 1000, icb="QHL"),
        ]
    )
    out = kp.participants_by_imd_quintile(data, "2020-21-Q1", "QWU", window="quarter", disclosed=False).set_index(
        "ImdQuintile"
    )
    assert list(out["Participants"]) == [40, 0, 0, 0, 60, 9]
    assert out.at["1", "ParticipantPct"] == 40.0  # unknown left out of the shares
    assert np.isnan(out.at["Unknown", "ParticipantPct"])
    assert out["PopulationPct"].iloc[:5].sum() == pytest.approx(100)
    assert out.at["4", "RepresentationRatio"] == 0


def test_core20_representation_ratio():
    data = make_data(recruitment_imd=[imd("2020-04-01", 1, 50), imd("2020-04-01", 7, 50)])
    out = kp.participants_core20(data, "2020-21-Q1", "QWU", window="quarter", disclosed=False).set_index("Group")
    population_pct = 100 * (68176 + 69032) / 963173
    assert out.at["Core20", "RepresentationRatio"] == pytest.approx(50 / population_pct)
    assert out.at["Unknown", "Participants"] == 0


def test_core20_history_is_the_rolling_twelve_month_share_like_the_table():
    data = make_data(
        recruitment_imd=[
            imd("2019-04-01", 1, 10),
            imd("2019-04-01", 9, 30),
            imd("2019-07-01", 2, 5),
            imd("2019-10-01", 5, 20),
            imd("2020-01-01", 1, 15),
            imd("2020-01-01", 6, 20),
            imd("2020-04-01", 10, 40),
            imd("2020-04-01", None, 7),
        ]
    )
    out = kp.core20_history(data, "2020-21-Q1", "QWU")
    assert out["Core20Pct"].iloc[:3].isna().all()  # fewer than four quarters
    # To 2019/20 Q4: (10 + 5 + 15) / (40 + 5 + 20 + 35) = 30 / 100; to 2020/21 Q1: 20 / 100.
    assert list(out["Core20Pct"].iloc[3:]) == pytest.approx([30.0, 20.0])
    table = kp.participants_core20(data, "2020-21-Q1", "QWU", disclosed=False).set_index("Group")
    assert table.at["Core20", "ParticipantPct"] == pytest.approx(out["Core20Pct"].iloc[-1])


def test_all_deciles_unknown_gives_no_shares():
    data = make_data(recruitment_imd=[imd("2020-04-01", None, 20)])
    out = kp.participants_core20(data, "2020-21-Q1", "QWU", disclosed=False)
    assert list(out["Participants"]) == [0, 0, 20]
    assert out["ParticipantPct"].isna().all()


def test_ethnicity_counts_and_shares_without_not_stated():
    data = make_data(
        recruitment_ethnicity=[
            {"IcbCode": "QWU", "Month": "2020-05-01", "EthnicGroup": g, "Participants": n}
            for g, n in [("White", 60), ("Asian", 40), ("Not stated", 25)]
        ]
    )
    out = kp.participants_by_ethnicity(data, "2020-21-Q1", "QWU", disclosed=False).set_index("EthnicGroup")
    assert out.at["White", "Pct"] == 60.0 and out.at["Black", "Participants"] == 0
    assert np.isnan(out.at["Not stated", "Pct"])
    shown = kp.participants_by_ethnicity(data, "2020-21-Q1", "QWU").set_index("EthnicGroup")
    assert shown.at["Total (known)", "Participants"] == 100 and shown.at["Not stated", "Participants"] == 25


def test_bad_window_is_an_error(data):
    with pytest.raises(ValueError, match="window must be"):
        kp.participants_by_place(data, "2019-20-Q4", "QWU", window="month")


def test_ethnicity_representation_against_census_2021():
    data = make_data(
        recruitment_ethnicity=[
            {"IcbCode": "QWU", "Month": "2020-05-01", "EthnicGroup": g, "Participants": n}
            for g, n in [("White", 162), ("Asian", 30), ("Black", 8), ("Not stated", 25)]
        ]
    )
    out = kp.ethnicity_representation(data, "2020-21-Q1", "QWU", disclosed=False).set_index("EthnicGroup")
    # Stated: 162 + 30 + 8 = 200. QWU Census 2021: Asian 101,265 and White 757,912 of 942,080.
    assert out.at["Asian", "ParticipantPct"] == pytest.approx(15.0)
    assert out.at["Asian", "Population"] == 101265
    assert out.at["Asian", "PopulationPct"] == pytest.approx(10.74908713, rel=1e-9)
    assert out.at["Asian", "RepresentationRatio"] == pytest.approx(15 / 10.74908713, rel=1e-8)  # 1.395467
    assert out.at["White", "RepresentationRatio"] == pytest.approx(81 / 80.45091712, rel=1e-8)  # 1.006825
    assert out.at["Mixed", "RepresentationRatio"] == 0
    assert np.isnan(out.at["Not stated", "RepresentationRatio"]) and np.isnan(out.at["Not stated", "PopulationPct"])


def test_ethnicity_representation_disclosed_uses_the_rounded_shares():
    data = make_data(
        recruitment_ethnicity=[
            {"IcbCode": "QWU", "Month": "2020-05-01", "EthnicGroup": g, "Participants": n}
            for g, n in [("White", 162), ("Asian", 30), ("Black", 8), ("Mixed", 3), ("Not stated", 25)]
        ]
    )
    shown = kp.ethnicity_representation(data, "2020-21-Q1", "QWU").set_index("EthnicGroup")
    # Rounded: White 160, Asian 30, Black 10, Mixed '*', Other 0; total known 203 -> 205.
    assert shown.at["Total (known)", "Participants"] == 205
    assert shown.at["Asian", "ParticipantPct"] == pytest.approx(30 / 205 * 100)
    assert shown.at["Asian", "RepresentationRatio"] == pytest.approx((30 / 205 * 100) / 10.74908713, rel=1e-8)
    assert shown.at["Mixed", "RepresentationRatio"] == "*"  # a suppressed share gives a suppressed ratio
    assert shown.at["Total (known)", "PopulationPct"] == 100.0
    assert shown.at["Not stated", "Participants"] == 25
