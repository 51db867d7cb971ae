"""Peer figures for one KPI and quarter: each ICB's value, England's, each NHS England region's,
and an ICB's rank and quartile among its peers (definitions in docs/benchmarking.md).

Input: one row per ICB with ``IcbCode``, ``Numerator`` and ``Denominator`` (checked by
:func:`helpers.funnel.checked_counts`). Values are ``Numerator / Denominator * multiplier``; an
aggregate (England, a region, a peer group) is the sum of its numerators over the sum of its
denominators, never a mean of values.

- Rank among the peer group: 1 = best by the KPI's improvement direction (``increase``/``higher``:
  largest value first; ``decrease``/``lower``: smallest first); tied values share the lowest
  (best) rank of the tie ("min" ranking: 1, 2, 2, 4).
- Quartile (1 = best) from rank r of n peers: the share of the other peers ranked strictly
  better, ``(r - 1) / (n - 1)``: under 25% quartile 1, 25% to under 50% quartile 2, 50% to under
  75% quartile 3, 75% or more quartile 4; that is ``min(4, 1 + floor(4 (r - 1) / (n - 1)))``, and
  1 for a group of one. The top-ranked ICB is in quartile 1, one ranked alone last in 4. For 42 ICBs:
  ranks 1-11, 12-21, 22-31 and 32-42.
- Peer group: ``"england"`` (every ICB in the frame), ``"region"`` (the ICB's NHS England region,
  from :func:`helpers.population.icb_regions`) or an explicit list of ICB codes (the ICB itself
  is always included).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers import population
from helpers.funnel import _names, checked_counts

DIRECTIONS = {"increase": 1, "higher": 1, "decrease": -1, "lower": -1}


def _sign(direction: str) -> int:
    try:
        return DIRECTIONS[direction]
    except KeyError:
        raise ValueError(
            f"improvement direction {direction!r} cannot rank: use one of {', '.join(DIRECTIONS)} "
            "(a neutral KPI has no best or worst)"
        ) from None


def icb_values(
    frame: pd.DataFrame,
    *,
    multiplier: float = 1,
    numerator: str = "Numerator",
    denominator: str = "Denominator",
    proportion: bool = True,
) -> pd.DataFrame:
    """Each ICB's value with its name and NHS England region, in the frame's order.

    Columns ``IcbCode``, ``IcbName``, ``RegionCode``, ``RegionName``, ``Numerator``,
    ``Denominator``, ``Value``. Codes are ICB ODS codes (case and spaces ignored); an unknown code
    is an error naming it, as are the count errors of :func:`helpers.funnel.checked_counts`
    (``proportion=False`` allows a numerator above its denominator).
    """
    counts = checked_counts(frame, unit="IcbCode", numerator=numerator, denominator=denominator, proportion=proportion)
    counts["IcbCode"] = counts["IcbCode"].str.upper()
    regions = population.icb_regions().set_index("IcbCode")
    unknown = counts.loc[~counts["IcbCode"].isin(regions.index), "IcbCode"]
    if len(unknown):
        raise population.UnknownIcbError(
            f"unknown ICB code(s) {_names(unknown)}: use ICB ODS codes such as 'QWU' (helpers.population.icb_codes())"
        )
    if counts["IcbCode"].duplicated().any():
        raise ValueError(f"IcbCode repeated: {_names(counts.loc[counts['IcbCode'].duplicated(), 'IcbCode'])}")
    found = regions.loc[counts["IcbCode"]]
    return pd.DataFrame(
        {
            "IcbCode": counts["IcbCode"].to_numpy(),
            "IcbName": found["IcbName"].to_numpy(),
            "RegionCode": found["RegionCode"].to_numpy(),
            "RegionName": found["RegionName"].to_numpy(),
            "Numerator": counts["Numerator"].to_numpy(),
            "Denominator": counts["Denominator"].to_numpy(),
            "Value": (counts["Numerator"] / counts["Denominator"] * multiplier).to_numpy(),
        }
    )


def aggregate_value(values: pd.DataFrame, *, multiplier: float = 1) -> float:
    """Sum of ``Numerator`` over sum of ``Denominator``, times ``multiplier``."""
    return float(values["Numerator"].sum() / values["Denominator"].sum() * multiplier)


def england_value(frame: pd.DataFrame, *, multiplier: float = 1, **columns: str) -> float:
    """England's value: the sum of every ICB's numerator over the sum of their denominators."""
    return aggregate_value(icb_values(frame, multiplier=multiplier, **columns), multiplier=multiplier)


def region_values(frame: pd.DataFrame, *, multiplier: float = 1, **columns: str) -> pd.DataFrame:
    """Each NHS England region's value (sum of its ICBs' numerators over the sum of their
    denominators), for the regions with at least one ICB in ``frame``, sorted by ``RegionName``.

    Columns ``RegionCode``, ``RegionName``, ``Icbs`` (ICBs in the frame), ``IcbsInRegion`` (ICBs
    in the region), ``Numerator``, ``Denominator``, ``Value``.
    """
    values = icb_values(frame, multiplier=multiplier, **columns)
    sizes = population.icb_regions().groupby("RegionCode").size()
    out = (
        values.groupby(["RegionCode", "RegionName"], as_index=False)
        .agg(Icbs=("IcbCode", "size"), Numerator=("Numerator", "sum"), Denominator=("Denominator", "sum"))
        .sort_values("RegionName", ignore_index=True)
    )
    out.insert(3, "IcbsInRegion", out["RegionCode"].map(sizes).astype("int64").to_numpy())
    out["Value"] = out["Numerator"] / out["Denominator"] * multiplier
    return out


def peer_codes(icb: str, peers: str | Sequence[str] = "england", available: Iterable[str] | None = None) -> list[str]:
    """The ICB codes of ``icb``'s peer group, sorted: ``"england"`` (all ``available`` codes, by
    default the 42 ICBs), ``"region"`` (the ICBs of its NHS England region that are available) or
    an explicit list of ICB codes (with ``icb`` added if absent). Unknown codes are errors."""
    population.icb_region(icb)  # an unknown code is an UnknownIcbError naming it
    code = str(icb).strip().upper()
    known = set(population.icb_codes())
    pool = known if available is None else {str(c).strip().upper() for c in available}
    if isinstance(peers, str):
        choice = peers.strip().lower()
        if choice == "england":
            return sorted(pool)
        if choice == "region":
            regions = population.icb_regions()
            region = population.icb_region(code).code
            return sorted(set(regions.loc[regions["RegionCode"] == region, "IcbCode"]) & pool)
        raise ValueError(f"peers must be 'england', 'region' or a list of ICB codes, got {peers!r}")
    chosen = {str(c).strip().upper() for c in peers}
    unknown = sorted(chosen - known)
    if unknown:
        raise population.UnknownIcbError(f"unknown ICB code(s) in peers: {_names(unknown)}")
    return sorted(chosen | {code})


def rank(values: pd.Series, direction: str) -> pd.Series:
    """Rank of each value, 1 = best by ``direction``; ties share the lowest rank (1, 2, 2, 4)."""
    sign = _sign(direction)
    return (-sign * values.astype("float64")).rank(method="min").astype("int64")


def quartile(ranks: pd.Series | int, n: int) -> pd.Series | int:
    """Quartile (1 = best) of rank(s) among ``n`` peers: ``min(4, 1 + floor(4 (r - 1) / (n - 1)))``
    (the share of the other peers ranked strictly better: under 25% -> 1, under 50% -> 2, under
    75% -> 3, else 4); 1 when ``n == 1``. Integer arithmetic, so the 25/50/75% boundaries are exact.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    series = ranks if isinstance(ranks, pd.Series) else pd.Series([ranks])
    if ((series < 1) | (series > n)).any():
        raise ValueError(f"ranks must be whole numbers between 1 and {n}")
    series = series.astype("int64")
    out = (
        pd.Series(1, index=series.index, dtype="int64") if n == 1 else (1 + (4 * (series - 1)) // (n - 1)).clip(upper=4)
    )
    return out if isinstance(ranks, pd.Series) else int(out.iloc[0])


def ranked(values: pd.DataFrame, direction: str) -> pd.DataFrame:
    """``values`` (as from :func:`icb_values`) with ``Rank`` and ``Quartile`` among its rows,
    sorted best first (then by ``IcbCode``)."""
    out = values.copy()
    out["Rank"] = rank(out["Value"], direction)
    out["Quartile"] = quartile(out["Rank"], len(out))
    return out.sort_values(["Rank", "IcbCode"], ignore_index=True)


@dataclass(frozen=True)
class PeerFigures:
    """One ICB among its peers for one KPI and quarter (values in the KPI's unit)."""

    icb: str
    value: float
    numerator: float
    denominator: float
    england: float  # every ICB in the frame
    region: population.Region
    region_value: float  # the ICBs of its region in the frame
    peers: str  # "England", the region's name, or "a chosen group of N ICBs"
    peer_value: float  # the peer group's aggregate
    rank: int  # among the peer group, 1 = best
    of: int  # ICBs in the peer group
    quartile: int  # 1 = best
    table: pd.DataFrame  # the peer group, ranked (see ranked())


def peer_figures(
    frame: pd.DataFrame,
    icb: str,
    direction: str,
    *,
    peers: str | Sequence[str] = "england",
    multiplier: float = 1,
    **columns: str,
) -> PeerFigures:
    """``icb``'s value, England's, its region's, and its rank and quartile among ``peers``.

    ``direction`` is the KPI's improvement direction (``increase``/``decrease`` as in the KPI
    registry, or ``higher``/``lower``). Peers without a row in ``frame`` are left out of the group
    (``of`` counts the ICBs ranked); an explicit peer list naming an ICB with no row is an error.
    """
    values = icb_values(frame, multiplier=multiplier, **columns)
    code = str(icb).strip().upper()
    region = population.icb_region(code)
    if code not in set(values["IcbCode"]):
        raise ValueError(f"ICB {code} has no row in the peer data ({len(values)} ICBs)")
    group = peer_codes(code, peers, available=None if not isinstance(peers, str) else values["IcbCode"])
    missing = sorted(set(group) - set(values["IcbCode"]))
    if missing:
        raise ValueError(f"no peer data for ICB(s) {_names(missing)} named in peers")
    table = ranked(values[values["IcbCode"].isin(group)], direction)
    row = table.loc[table["IcbCode"] == code].iloc[0]
    if isinstance(peers, str) and peers.strip().lower() == "england":
        label = "England"
    elif isinstance(peers, str):
        label = region.name
    else:
        label = f"a chosen group of {len(table)} ICBs"
    return PeerFigures(
        icb=code,
        value=float(row["Value"]),
        numerator=float(row["Numerator"]),
        denominator=float(row["Denominator"]),
        england=aggregate_value(values, multiplier=multiplier),
        region=region,
        region_value=aggregate_value(values[values["RegionCode"] == region.code], multiplier=multiplier),
        peers=label,
        peer_value=aggregate_value(table, multiplier=multiplier),
        rank=int(row["Rank"]),
        of=len(table),
        quartile=int(row["Quartile"]),
        table=table,
    )
