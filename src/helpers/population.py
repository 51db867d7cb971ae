"""ICB population denominators from the shipped ONS mid-2020 reference tables.

Codes are ICB ODS codes (e.g. ``QWU``); see ``icb_codes()`` or
``src/helpers/reference_data/icb22_population_mid2020.csv`` (column ``icb22_code_h``).
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from helpers.paths import REFERENCE_DATA_DIR

POPULATION_FILE = REFERENCE_DATA_DIR / "icb22_population_mid2020.csv"
POPULATION_BY_IMD_FILE = REFERENCE_DATA_DIR / "icb22_population_by_imd19_decile_mid2020.csv"
IMD_DECILES = list(range(1, 11))


class UnknownIcbError(ValueError):
    """An ICB code that is not one of the 42 ICBs in the reference data."""


@lru_cache(maxsize=1)
def _populations() -> pd.DataFrame:
    table = pd.read_csv(POPULATION_FILE, dtype={"icb22_code_h": "string", "icb22_name": "string"})
    return table.set_index("icb22_code_h")


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
    """ONS mid-2020 population of the ICB, all ages."""
    return int(_populations().at[_checked(icb), "pop_mid2020"])


def icb_population_by_imd_decile(icb: str) -> pd.DataFrame:
    """The ICB's population by national IMD 2019 decile (1 = most deprived).

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
