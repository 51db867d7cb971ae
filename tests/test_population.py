"""helpers.population: ICB denominators from the shipped ONS reference tables."""

import pandas as pd
import pytest

from helpers import population
from helpers.paths import REFERENCE_DATA_DIR


def test_icb_population_and_name_of_coventry_and_warwickshire():
    assert population.icb_population("QWU") == 963204  # ONS mid-2022, from the reference file
    assert population.icb_name("QWU") == "NHS Coventry and Warwickshire Integrated Care Board"


def test_codes_are_the_42_icbs():
    codes = population.icb_codes()
    assert len(codes) == 42
    assert codes == sorted(codes)
    assert {"QWU", "QHL"} <= set(codes)


def test_code_is_read_case_and_space_insensitively():
    assert population.icb_population(" qwu ") == 963204


def test_population_by_imd_decile_adds_up_to_the_total():
    by_decile = population.icb_population_by_imd_decile("QWU")
    assert list(by_decile["ImdDecile"]) == list(range(1, 11))
    assert by_decile["Population"].iloc[0] == 68176  # decile 1, from the reference file
    assert by_decile["Population"].sum() == 963173  # mid-2020: no mid-2022 table by decile
    assert by_decile["Share"].sum() == pytest.approx(1.0)


def test_every_icb_has_all_ten_deciles_even_with_no_residents_in_one():
    mid2020 = pd.read_csv(REFERENCE_DATA_DIR / "icb22_population_mid2020.csv").set_index("icb22_code_h")
    zero_deciles = 0
    for code in population.icb_codes():
        by_decile = population.icb_population_by_imd_decile(code)
        assert len(by_decile) == 10
        assert by_decile["Population"].sum() == mid2020.at[code, "pop_mid2020"]  # deciles: mid-2020 totals
        zero_deciles += int((by_decile["Population"] == 0).sum())
    assert zero_deciles >= 3  # three ICBs have no LSOA in one decile: shown as 0, not dropped


def test_mid2022_populations_add_up_to_the_ons_england_total():
    assert sum(population.icb_population(code) for code in population.icb_codes()) == 57_106_398


def test_population_by_ethnic_group_maps_the_contract_groups_to_census_2021():
    by_group = population.icb_population_by_ethnic_group("QWU")
    assert list(by_group["EthnicGroup"]) == ["Asian", "Black", "Mixed", "White", "Other"]
    assert by_group["CensusGroup"].iloc[1] == "Black, Black British, Black Welsh, Caribbean or African"
    # QWU rows of the reference file: 101,265 + 38,732 + 25,261 + 757,912 + 18,910 = 942,080
    assert list(by_group["Population"]) == [101265, 38732, 25261, 757912, 18910]
    assert by_group["Share"].iloc[0] == pytest.approx(101265 / 942080)
    assert by_group["Share"].sum() == pytest.approx(1.0)


def test_every_icb_has_the_five_census_groups():
    for code in population.icb_codes():
        by_group = population.icb_population_by_ethnic_group(code)
        assert len(by_group) == 5
        assert (by_group["Population"] > 0).all()


@pytest.mark.parametrize(
    "call",
    [
        population.icb_population,
        population.icb_name,
        population.icb_population_by_imd_decile,
        population.icb_population_by_ethnic_group,
    ],
)
def test_unknown_icb_is_a_clear_error(call):
    with pytest.raises(population.UnknownIcbError, match=r"unknown ICB code 'XYZ'.*icb_codes\(\)"):
        call("XYZ")


def test_coventry_and_warwickshire_is_in_the_midlands():
    region = population.icb_region("QWU")
    assert region == population.Region(code="E40000011", ods_code="Y60", name="Midlands")
    assert population.icb_region(" qwu ") == region


def test_regions_cover_the_42_icbs_in_7_regions():
    regions = population.icb_regions()
    assert list(regions.columns) == ["IcbCode", "IcbName", "RegionCode", "RegionOdsCode", "RegionName"]
    assert regions["IcbCode"].tolist() == population.icb_codes()  # the same 42 codes, sorted
    # Counts as in reference_data/README.md (ONS LOC22_ICB22_NHSER22_EN_LU, July 2022).
    assert regions.groupby("RegionName").size().to_dict() == {
        "London": 5,
        "South East": 6,
        "South West": 7,
        "East of England": 6,
        "North West": 3,
        "Midlands": 11,
        "North East and Yorkshire": 4,
    }
    # Each region name has one ONS code and one ODS code.
    assert regions.groupby("RegionName")[["RegionCode", "RegionOdsCode"]].nunique().eq(1).all().all()
    assert sorted(regions["RegionOdsCode"].unique()) == ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"]


def test_region_names_of_icbs_agree_with_the_population_table():
    regions = population.icb_regions().set_index("IcbCode")
    for code in ("QWU", "QHL", "QRV"):
        assert regions.at[code, "IcbName"] == population.icb_name(code)


def test_region_of_an_unknown_icb_is_an_error_naming_it():
    with pytest.raises(population.UnknownIcbError, match="'XXX'"):
        population.icb_region("XXX")
