"""helpers.population: ICB denominators from the shipped ONS reference tables."""

import pytest

from helpers import population


def test_icb_population_and_name_of_coventry_and_warwickshire():
    assert population.icb_population("QWU") == 963173
    assert population.icb_name("QWU") == "NHS Coventry and Warwickshire Integrated Care Board"


def test_codes_are_the_42_icbs():
    codes = population.icb_codes()
    assert len(codes) == 42
    assert codes == sorted(codes)
    assert {"QWU", "QHL"} <= set(codes)


def test_code_is_read_case_and_space_insensitively():
    assert population.icb_population(" qwu ") == 963173


def test_population_by_imd_decile_adds_up_to_the_total():
    by_decile = population.icb_population_by_imd_decile("QWU")
    assert list(by_decile["ImdDecile"]) == list(range(1, 11))
    assert by_decile["Population"].iloc[0] == 68176  # decile 1, from the reference file
    assert by_decile["Population"].sum() == 963173
    assert by_decile["Share"].sum() == pytest.approx(1.0)


def test_every_icb_has_all_ten_deciles_even_with_no_residents_in_one():
    zero_deciles = 0
    for code in population.icb_codes():
        by_decile = population.icb_population_by_imd_decile(code)
        assert len(by_decile) == 10
        assert by_decile["Population"].sum() == population.icb_population(code)
        zero_deciles += int((by_decile["Population"] == 0).sum())
    assert zero_deciles >= 3  # three ICBs have no LSOA in one decile: shown as 0, not dropped


@pytest.mark.parametrize(
    "call", [population.icb_population, population.icb_name, population.icb_population_by_imd_decile]
)
def test_unknown_icb_is_a_clear_error(call):
    with pytest.raises(population.UnknownIcbError, match=r"unknown ICB code 'XYZ'.*icb_codes\(\)"):
        call("XYZ")
