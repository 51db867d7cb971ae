"""Synthetic organisations and places for one ICB of the sample data.

Coventry and Warwickshire (QWU) uses its real NHS providers (named in the plan); every other
organisation is synthetic, with codes in ODS formats chosen so they are unique across all 42 ICBs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from helpers.paths import REFERENCE_DATA_DIR

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PEOPLE_PER_GP_PRACTICE = 9_000

# The plan's providers for Coventry and Warwickshire, with the place each serves.
QWU_PROVIDERS = [
    ("RKB", "University Hospitals Coventry and Warwickshire NHS Trust", "acute", "Coventry"),
    ("RJC", "South Warwickshire University NHS Foundation Trust", "acute", "South Warwickshire"),
    ("RLT", "George Eliot Hospital NHS Trust", "acute", "Warwickshire North"),
    ("RYG", "Coventry and Warwickshire Partnership NHS Trust", "mental_health_community", "Coventry"),
    ("RYA", "West Midlands Ambulance Service University NHS Foundation Trust", "ambulance", "Coventry"),
]
# Populations of the three places (approximate split of the ICB's ONS mid-2020 total, 963,173).
QWU_PLACES = {"Coventry": 371_521, "Warwickshire North": 301_840, "South Warwickshire": 289_812}
QWU_COUNCILS = [("Coventry City Council", "Coventry"), ("Warwickshire County Council", "South Warwickshire")]
QWU_UNIVERSITIES = ["University of Warwick", "Coventry University"]


@dataclass(frozen=True)
class Icb:
    """One ICB from the shipped ONS reference table."""

    code: str
    name: str
    short_name: str
    population: int
    index: int  # position in code order: makes synthetic codes unique across ICBs


@lru_cache(maxsize=1)
def icb_table() -> pd.DataFrame:
    """The 42 ICBs (code order) with population and first GP-practice number."""
    icbs = pd.read_csv(REFERENCE_DATA_DIR / "icb22_population_mid2020.csv", dtype={"icb22_code_h": str})
    icbs = icbs.sort_values("icb22_code_h", kind="stable").reset_index(drop=True)
    practices = np.maximum(3, np.rint(icbs["pop_mid2020"].to_numpy() / PEOPLE_PER_GP_PRACTICE)).astype(int)
    icbs["n_gp_practices"] = practices
    icbs["first_gp_number"] = np.concatenate([[0], np.cumsum(practices)[:-1]])
    return icbs


def icb_codes() -> list[str]:
    """ODS codes of the 42 ICBs, sorted."""
    return icb_table()["icb22_code_h"].tolist()


def get_icb(code: str) -> Icb:
    """The ICB with ODS code ``code``; a clear error naming the valid codes otherwise."""
    table = icb_table()
    match = table.index[table["icb22_code_h"] == code.upper()]
    if len(match) == 0:
        raise ValueError(f"unknown ICB code {code!r}: use one of {', '.join(icb_codes())}")
    row = table.loc[match[0]]
    short = str(row["icb22_name"]).removeprefix("NHS ").removesuffix(" Integrated Care Board")
    return Icb(str(row["icb22_code_h"]), str(row["icb22_name"]), short, int(row["pop_mid2020"]), int(match[0]))


def places(icb: Icb) -> pd.DataFrame:
    """Places (sub-ICB footprints) with populations: QWU's three named places, elsewhere the sub-ICB locations."""
    if icb.code == "QWU":
        return pd.DataFrame({"Place": list(QWU_PLACES), "population": list(QWU_PLACES.values())})
    sub = pd.read_csv(REFERENCE_DATA_DIR / "sicbl22_population_mid2020.csv", dtype=str)
    sub = sub[sub["icb22_code_h"] == icb.code].sort_values("sicbl22_code_h", kind="stable")
    return pd.DataFrame(
        {"Place": sub["sicbl22_name"].to_list(), "population": sub["pop_mid2020"].astype(int).to_list()}
    )


def _trust_code(icb: Icb, k: int) -> str:
    # 'R' + digit + character: ODS trust format, never equal to a real letter-letter code like RKB.
    slot = icb.index * 8 + k
    return f"R{slot // 36}{ALNUM[slot % 36]}"


def organisations(icb: Icb, rng: np.random.Generator) -> pd.DataFrame:
    """Every organisation taking part in research in the ICB (data-contract columns)."""
    place_table = places(icb)
    place_names = place_table["Place"].to_list()
    place_p = place_table["population"].to_numpy(float) / place_table["population"].sum()
    rows: list[tuple[str, str, str, str]] = []

    if icb.code == "QWU":
        rows += QWU_PROVIDERS
    else:
        n_acute = int(np.clip(round(icb.population / 500_000), 1, 5))
        n_mh = int(np.clip(round(icb.population / 1_200_000), 1, 2))
        for k in range(n_acute):
            place = place_names[k % len(place_names)]
            suffix = "" if n_acute == 1 else f" {chr(65 + k)}"
            rows.append((_trust_code(icb, k), f"{icb.short_name} Hospitals NHS Trust{suffix}", "acute", place))
        for k in range(n_mh):
            suffix = "" if n_mh == 1 else f" {chr(65 + k)}"
            rows.append(
                (
                    _trust_code(icb, 5 + k),
                    f"{icb.short_name} Partnership NHS Trust{suffix}",
                    "mental_health_community",
                    place_names[k % len(place_names)],
                )
            )
        rows.append((_trust_code(icb, 7), f"{icb.short_name} Ambulance Service", "ambulance", place_names[0]))

    # GP practices: ODS GP format 'Y9' + 4 digits, numbered across all ICBs so codes never repeat.
    table = icb_table().loc[icb.index]
    n_gp = int(table["n_gp_practices"])
    first = int(table["first_gp_number"])
    gp_places = rng.choice(len(place_names), size=n_gp, p=place_p)
    surgery_names = ["Health Centre", "Medical Practice", "Surgery", "Family Practice", "Medical Centre"]
    for k in range(n_gp):
        place = place_names[gp_places[k]]
        label = place if icb.code == "QWU" else icb.short_name
        rows.append((f"Y9{first + k:04d}", f"{label} {surgery_names[k % 5]} {k + 1}", "gp_practice", place))

    if icb.code == "QWU":
        councils = QWU_COUNCILS
        universities = QWU_UNIVERSITIES
    else:
        n_la = int(np.clip(round(icb.population / 500_000), 1, min(4, len(place_names) + 1)))
        councils = [
            (f"{icb.short_name} Council{'' if n_la == 1 else ' ' + chr(65 + k)}", place_names[k % len(place_names)])
            for k in range(n_la)
        ]
        n_uni = int(np.clip(round(icb.population / 1_500_000), 1, 3))
        universities = [
            f"University of {icb.short_name}{'' if n_uni == 1 else ' ' + chr(65 + k)}" for k in range(n_uni)
        ]
    for k, (name, place) in enumerate(councils):
        rows.append((f"LA{icb.index:02d}{k}", name, "local_authority", place))
    n_hospice = max(1, round(icb.population / 350_000))
    for k in range(n_hospice):
        label = place_names[k % len(place_names)] if icb.code == "QWU" else icb.short_name
        rows.append(
            (f"HS{icb.index:02d}{k:02d}", f"{label} Hospice {k + 1}", "hospice", place_names[k % len(place_names)])
        )
    n_care = max(3, round(icb.population / 50_000))
    care_places = rng.choice(len(place_names), size=n_care, p=place_p)
    for k in range(n_care):
        rows.append(
            (f"CH{icb.index:02d}{k:03d}", f"Care Home {icb.code}-{k + 1:03d}", "care_home", place_names[care_places[k]])
        )
    for k, name in enumerate(universities):
        rows.append((f"UN{icb.index:02d}{k}", name, "university", place_names[0]))
    rows.append((icb.code, icb.name, "other", place_names[0]))

    orgs = pd.DataFrame(rows, columns=["OrganisationCode", "OrganisationName", "OrganisationType", "Place"])
    orgs["IcbCode"] = icb.code
    return orgs
