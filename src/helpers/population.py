"""ICB population denominators from the shipped ONS reference tables.

- Rates per 10,000 use the ONS mid-2022 ICB estimates (``icb_population``).
- Deprivation shares use the mid-2020 population by IMD 2019 decile: ONS publish no mid-2022
  estimates by decile, and a share changes little in two years (``icb_population_by_imd_decile``).
- Ethnic-group shares use Census 2021 usual residents (``icb_population_by_ethnic_group``).
- Peer groups use each ICB's NHS England region, from the ONS July 2022 lookup (``icb_region``,
  ``icb_regions``).

Codes are ICB ODS codes (e.g. ``QWU``); see ``icb_codes()`` or
``src/helpers/reference_data/icb22_population_mid2022.csv`` (column ``icb22_code_h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from helpers.paths import REFERENCE_DATA_DIR

POPULATION_FILE = REFERENCE_DATA_DIR / "icb22_population_mid2022.csv"
POPULATION_YEAR = "mid-2022"  # for labels: "ONS mid-2022 population"
POPULATION_BY_IMD_FILE = REFERENCE_DATA_DIR / "icb22_population_by_imd19_decile_mid2020.csv"
POPULATION_BY_ETHNIC_GROUP_FILE = REFERENCE_DATA_DIR / "icb22_ethnicity_census2021.csv"
REGIONS_FILE = REFERENCE_DATA_DIR / "icb22_nhser22.csv"
IMD_DECILES = list(range(1, 11))
# The data contract's ethnic groups (helpers.contract.ETHNIC_GROUPS, "Not stated" aside) are the
# Census 2021 high-level groups (TS021) under short names.
CENSUS_ETHNIC_GROUPS = {
    "Asian": "Asian, Asian British or Asian Welsh",
    "Black": "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed": "Mixed or Multiple ethnic groups",
    "White": "White",
    "Other": "Other ethnic group",
}


class UnknownIcbError(ValueError):
    """An ICB code that is not one of the 42 ICBs in the reference data."""


@dataclass(frozen=True)
class Region:
    """An NHS England region (July 2022): ONS (GSS) code, NHS England ODS code and name."""

    code: str  # e.g. E40000011
    ods_code: str  # e.g. Y60
    name: str  # e.g. Midlands


@lru_cache(maxsize=1)
def _populations() -> pd.DataFrame:
    table = pd.read_csv(POPULATION_FILE, dtype={"icb22_code_h": "string", "icb22_name": "string"})
    return table.set_index("icb22_code_h")


@lru_cache(maxsize=1)
def _populations_by_ethnic_group() -> pd.DataFrame:
    return pd.read_csv(POPULATION_BY_ETHNIC_GROUP_FILE, dtype={"icb22_code_h": "string", "ethnic_group": "string"})


@lru_cache(maxsize=1)
def _regions() -> pd.DataFrame:
    return pd.read_csv(REGIONS_FILE, dtype="string").set_index("icb22_code_h")


@lru_cache(maxsize=1)
def _populations_by_imd() -> pd.DataFrame:
    return pd.read_csv(POPULATION_BY_IMD_FILE, dtype={"icb22_code_h": "string"})


def _checked(icb: str) -> str:
    codes = _populations().index
    code = str(icb).strip().upper()
    if code not in codes:
        raise UnknownIcbError(
            f"unknown ICB code {icb!r}: use an ICB ODS code such as 'QWU'. "
            f"Valid codes: helpers.population.icb_codes(), or column icb22_code_h of {POPULATION_FILE}"
        )
    return code


def icb_codes() -> list[str]:
    """The ODS codes of the 42 ICBs, sorted."""
    return sorted(_populations().index.tolist())


def icb_name(icb: str) -> str:
    """The ICB's name, e.g. ``NHS Coventry and Warwickshire Integrated Care Board``."""
    return str(_populations().at[_checked(icb), "icb22_name"])


def icb_population(icb: str) -> int:
    """ONS mid-2022 population of the ICB, all ages (the denominator of rates per 10,000)."""
    return int(_populations().at[_checked(icb), "population"])


def icb_population_by_imd_decile(icb: str) -> pd.DataFrame:
    """The ICB's ONS mid-2020 population by national IMD 2019 decile (1 = most deprived): there is
    no mid-2022 table by decile, so deprivation shares keep mid-2020 (its total is not
    :func:`icb_population`).

    Columns ``ImdDecile`` (1-10, every decile present; a decile with no residents has 0),
    ``Population`` and ``Share`` (of the ICB total).
    """
    code = _checked(icb)
    table = _populations_by_imd()
    rows = table[table["icb22_code_h"] == code]
    population = rows.set_index("imd19_decile")["pop_mid2020"].reindex(IMD_DECILES, fill_value=0).astype("int64")
    out = pd.DataFrame({"ImdDecile": IMD_DECILES, "Population": population.to_numpy()})
    out["Share"] = out["Population"] / out["Population"].sum()
    return out


def icb_population_by_ethnic_group(icb: str) -> pd.DataFrame:
    """The ICB's Census 2021 usual residents by high-level ethnic group.

    Columns ``EthnicGroup`` (the data contract's short names, in the order of
    :data:`CENSUS_ETHNIC_GROUPS`), ``CensusGroup`` (the Census name), ``Population`` and ``Share``
    (of the ICB's residents; the five shares sum to 1).
    """
    code = _checked(icb)
    table = _populations_by_ethnic_group()
    rows = table[table["icb22_code_h"] == code].set_index("ethnic_group")
    census = list(CENSUS_ETHNIC_GROUPS.values())
    population = rows["residents"].reindex(census, fill_value=0).astype("int64")
    out = pd.DataFrame(
        {"EthnicGroup": list(CENSUS_ETHNIC_GROUPS), "CensusGroup": census, "Population": population.to_numpy()}
    )
    out["Share"] = out["Population"] / out["Population"].sum()
    return out


def icb_region(icb: str) -> Region:
    """The ICB's NHS England region, e.g. ``Region("E40000011", "Y60", "Midlands")`` for ``QWU``."""
    row = _regions().loc[_checked(icb)]
    return Region(str(row["nhser22_code"]), str(row["nhser22_code_h"]), str(row["nhser22_name"]))


def icb_regions() -> pd.DataFrame:
    """Every ICB with its NHS England region, one row per ICB sorted by ``IcbCode``.

    Columns ``IcbCode`` (ODS), ``IcbName``, ``RegionCode`` (ONS, ``E40...``), ``RegionOdsCode``
    (``Y56``-``Y63``) and ``RegionName``.
    """
    table = _regions().sort_index()
    return pd.DataFrame(
        {
            "IcbCode": table.index.astype(str),
            "IcbName": table["icb22_name"].astype(str).to_numpy(),
            "RegionCode": table["nhser22_code"].astype(str).to_numpy(),
            "RegionOdsCode": table["nhser22_code_h"].astype(str).to_numpy(),
            "RegionName": table["nhser22_name"].astype(str).to_numpy(),
        }
    )
