"""Participation and equity KPIs: participants per quarter and rolling 12 months, per 10,000
population, by place and organisation type, by IMD quintile and Core20, by ethnic group.

Participants and the rate per 10,000 count NIHR portfolio studies only by default, as every
study KPI does (recruitment to a study not on the portfolio is shown apart, ``scope``).

Breakdowns of people counts are disclosure-controlled by default (``disclosed=True``, see
:func:`helpers.kpi_common.published`); pass ``disclosed=False`` only for calculation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.contract import ETHNIC_GROUPS
from helpers.disclosure import SUPPRESSED
from helpers.population import (
    CENSUS_ETHNIC_GROUPS,
    icb_population,
    icb_population_by_ethnic_group,
    icb_population_by_imd_decile,
)
from helpers.quarters import parse

CORE20_DECILES = (1, 2)  # Core20: the most deprived 20% nationally = IMD deciles 1 and 2
UNKNOWN = "Unknown"
NOT_STATED = "Not stated"
SCOPES = ("portfolio", "not_portfolio", "all")  # which studies' recruitment counts
# Deprivation groups: each IMD decile's group, and the groups in table order.
QUINTILES = (pd.Series([str((d + 1) // 2) for d in range(1, 11)], index=range(1, 11)), ["1", "2", "3", "4", "5"])
CORE20_GROUPS = (
    pd.Series(["Core20" if d in CORE20_DECILES else "Other" for d in range(1, 11)], index=range(1, 11)),
    ["Core20", "Other"],
)


class ZeroPopulationError(ValueError):
    """A rate per population was asked for with a population of zero."""


@cache
def _reference(lookup: Callable[[str], Any], icb: str) -> Any:
    """``lookup(icb)``, kept: the population tables are reference data, the same for every pass
    (a table kept is shared: read it, never change it)."""
    return lookup(icb)


def _portfolio_recruitment(recruitment: pd.DataFrame, studies: pd.DataFrame, scope: str) -> pd.DataFrame:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if scope == "all":
        return recruitment
    on_portfolio = kc.isin(recruitment["StudyId"], kc.portfolio(studies)["StudyId"])
    return recruitment[on_portfolio if scope == "portfolio" else ~on_portfolio]


def participants(data, quarter, icb: str, disclosed: bool = True, scope: str = "portfolio") -> pd.DataFrame:
    """Participants recruited at the ICB's organisations per quarter and in the rolling 12 months
    to each quarter (NaN until four quarters exist). Columns: Quarter, Participants, Rolling12Months.

    ``scope``: ``portfolio`` (default: NIHR portfolio studies, the headline), ``not_portfolio``
    (studies not on the portfolio, shown apart) or ``all``. The quarters run from the first
    quarter with any recruitment whatever the scope, so the scopes line up row by row.
    """
    quarter = parse(quarter)
    recruitment = kc.table(kc.icb_slice(data, icb), "recruitment")
    # A site may recruit to a study led in another ICB, so portfolio status comes from every study.
    in_scope = _portfolio_recruitment(recruitment, kc.table(data, "studies"), scope)
    first = int(kc.by_quarter(recruitment, "Participants", quarter).index[0])
    per_quarter = kc.by_quarter(in_scope, "Participants", quarter, first=first).astype("int64")
    out = kc.history_frame(per_quarter, "Participants")
    out["Rolling12Months"] = kc.rolling_sum(out["Participants"]).astype("Int64")
    return kc.published_counts(out, ["Participants", "Rolling12Months"]) if disclosed else out


def participants_with_non_portfolio(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """NIHR portfolio participants (the headline) with, beside them and apart, participants in
    studies not on the portfolio, per quarter and rolling 12 months. Columns: Quarter,
    Participants, Rolling12Months, NotPortfolioParticipants, NotPortfolioRolling12Months."""
    portfolio = participants(data, quarter, icb, disclosed=disclosed)
    apart = participants(data, quarter, icb, disclosed=disclosed, scope="not_portfolio")
    portfolio["NotPortfolioParticipants"] = apart["Participants"].to_numpy()
    portfolio["NotPortfolioRolling12Months"] = apart["Rolling12Months"].to_numpy()
    return portfolio


def participants_per_10k(
    data, quarter, icb: str, population: int | None = None, disclosed: bool = True
) -> pd.DataFrame:
    """NIHR portfolio participants in the rolling 12 months per 10,000 population (default: the
    ICB's ONS mid-2022 population). Columns: Quarter, Rolling12Months, Population, Per10000.

    Disclosed (default): the count is published rounded (``*`` for 1-7) and the rate is computed
    from the rounded count, so the exact count cannot be recovered from rate x population.
    """
    population = _checked_population(icb, population)
    out = participants(data, quarter, icb, disclosed=disclosed)[["Quarter", "Rolling12Months"]]
    out["Population"] = int(population)
    out["Per10000"] = _published_count(out["Rolling12Months"]) / population * 10_000
    return out


def _checked_population(icb: str, population: float | None = None) -> float:
    """``population`` (default: the ICB's ONS mid-2022 population), or ZeroPopulationError when it is not above 0."""
    population = icb_population(icb) if population is None else population
    if not population or population <= 0:
        raise ZeroPopulationError(
            f"population for ICB {icb} is {population}: a rate per 10,000 needs a population above 0"
        )
    return population


def _published_count(counts: pd.Series) -> pd.Series:
    """Published counts as float64, NaN where suppressed (or missing): what a rate is computed from."""
    return pd.to_numeric(counts.where(counts != SUPPRESSED), errors="coerce").astype("float64")


def _recruitment_in_window(data, quarter, icb: str, window: str, scope: str) -> pd.DataFrame:
    quarter = parse(quarter)
    first, last = kc.window_ordinals(quarter, window)
    recruitment = kc.table(kc.icb_slice(data, icb), "recruitment")
    ordinals = kc.frame_ordinals(recruitment, "Month")
    in_window = recruitment[(ordinals >= first) & (ordinals <= last)]
    return _portfolio_recruitment(in_window, kc.table(data, "studies"), scope)


def _by_organisation_column(
    data, quarter, icb: str, column: str, window: str, disclosed: bool, scope: str
) -> pd.DataFrame:
    sliced = kc.icb_slice(data, icb)
    organisations = kc.table(sliced, "organisations")
    recruitment = _recruitment_in_window(data, quarter, icb, window, scope)
    totals = recruitment.groupby("OrganisationCode", observed=True)["Participants"].sum()
    lookup = organisations.set_index("OrganisationCode")[column]
    every_label = sorted(organisations[column].dropna().unique())  # every place / type listed, 0 when none
    grouped = totals.groupby(lookup.reindex(totals.index).to_numpy()).sum().reindex(every_label, fill_value=0)
    out = grouped.rename_axis(column).rename("Participants").reset_index()
    out["Participants"] = out["Participants"].astype("int64")
    out = out.sort_values(column, ignore_index=True)
    out["Pct"] = kc.share(out["Participants"], out["Participants"].sum())
    out.insert(0, "Quarter", parse(quarter).id)
    out.insert(1, "Window", window)
    if not disclosed:
        return out
    return kc.published_breakdown(out, ["Participants"], column, shares={"Pct": "Participants"})


def participants_by_place(
    data, quarter, icb: str, window: str = "quarter", disclosed: bool = True, scope: str = "portfolio"
) -> pd.DataFrame:
    """Participants by place of the recruiting organisation (NIHR portfolio studies by default, so
    the places add up to the headline; ``scope`` as :func:`participants`). ``window``: ``quarter``
    or ``rolling_12_months``. Columns: Quarter, Window, Place, Participants, Pct."""
    return _by_organisation_column(data, quarter, icb, "Place", window, disclosed, scope)


def participants_by_organisation_type(
    data, quarter, icb: str, window: str = "quarter", disclosed: bool = True, scope: str = "portfolio"
) -> pd.DataFrame:
    """Participants by type of the recruiting organisation (NIHR portfolio studies by default, as
    :func:`participants_by_place`). Columns: Quarter, Window, OrganisationType, Participants, Pct."""
    return _by_organisation_column(data, quarter, icb, "OrganisationType", window, disclosed, scope)


def _imd_in_window(data, quarter, icb: str, window: str) -> pd.DataFrame:
    first, last = kc.window_ordinals(parse(quarter), window)
    imd = kc.table(kc.icb_slice(data, icb), "recruitment_imd")
    ordinals = kc.frame_ordinals(imd, "Month")
    return imd[(ordinals >= first) & (ordinals <= last)]


def _representation(groups: pd.Series, imd: pd.DataFrame, population: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Participants and population per group; shares exclude unknown deprivation."""
    decile = imd["ImdDecile"]
    known = decile.notna().to_numpy()
    group_of = groups.reindex(decile[known].astype("int64").to_numpy()).to_numpy()
    counts = pd.Series(imd["Participants"].to_numpy()[known]).groupby(group_of).sum()
    counts = counts.reindex(order, fill_value=0).astype("int64")
    pop = population.groupby(groups.reindex(population["ImdDecile"]).to_numpy())["Population"].sum().reindex(order)
    out = pd.DataFrame({"Participants": counts.to_numpy(), "Population": pop.to_numpy()}, index=pd.Index(order))
    shares = _shares_and_ratio(out["Participants"].to_numpy(), out["Population"].to_numpy())
    out["ParticipantPct"], out["PopulationPct"], out["RepresentationRatio"] = shares
    unknown = int(imd["Participants"].to_numpy()[~known].sum())
    unknown_row = pd.DataFrame(
        {
            "Participants": [unknown],
            "Population": [np.nan],
            "ParticipantPct": [np.nan],
            "PopulationPct": [np.nan],
            "RepresentationRatio": [np.nan],
        },
        index=[UNKNOWN],
    )
    return pd.concat([out, unknown_row])


def _shares_and_ratio(participants: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, ...]:
    """Participant and population shares (%) of each group, along the last axis (one row per ICB
    when 2-D), and the representation ratio (NaN where the population share is 0)."""
    participant_pct = kc.share(participants, participants.sum(axis=-1, keepdims=True))
    population_pct = kc.share(population, population.sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(population_pct > 0, participant_pct / population_pct, np.nan)
    return participant_pct, population_pct, ratio


def _deprivation(
    data, quarter, icb: str, window: str, disclosed: bool, column: str, groups: pd.Series, order: list[str]
) -> pd.DataFrame:
    imd = _imd_in_window(data, quarter, icb, window)
    out = _representation(groups, imd, icb_population_by_imd_decile(icb), order)
    out = out.rename_axis(column).reset_index()
    out["Participants"] = out["Participants"].astype("int64")
    out["Population"] = out["Population"].astype("Int64")
    out.insert(0, "Quarter", parse(quarter).id)
    out.insert(1, "Window", window)
    if not disclosed:
        return out
    published = kc.published_breakdown(
        out, ["Participants"], column, shares={"ParticipantPct": "Participants"}, unknown_label=UNKNOWN
    )
    return _with_published_ratio(published)


def _with_published_ratio(published: pd.DataFrame) -> pd.DataFrame:
    """A disclosed deprivation breakdown with its ratio recomputed from the published (rounded)
    share; a suppressed share gives a suppressed ratio."""
    pct = published["ParticipantPct"]
    suppressed = pct.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    ratio = pd.to_numeric(pct.where(~suppressed), errors="coerce") / pd.to_numeric(
        published["PopulationPct"], errors="coerce"
    )
    published["RepresentationRatio"] = ratio.astype(object).where(~suppressed, SUPPRESSED)
    return published


def participants_by_imd_quintile(
    data, quarter, icb: str, window: str = "rolling_12_months", disclosed: bool = True
) -> pd.DataFrame:
    """Participants by national IMD 2019 quintile (1 = most deprived) against the ICB population's
    share, with representation ratio = participant share / population share (1 = as the
    population). Unknown decile is left out of the shares and reported in row ``Unknown``.

    Columns: Quarter, Window, ImdQuintile, Participants, Population, ParticipantPct,
    PopulationPct, RepresentationRatio.
    """
    return _deprivation(data, quarter, icb, window, disclosed, "ImdQuintile", *QUINTILES)


def participants_core20(
    data, quarter, icb: str, window: str = "rolling_12_months", disclosed: bool = True
) -> pd.DataFrame:
    """Participants living in Core20 areas (national IMD deciles 1-2) and elsewhere, against the
    population's share. Rows Core20, Other, Unknown; columns as :func:`participants_by_imd_quintile`
    with ``Group`` in place of ``ImdQuintile``."""
    return _deprivation(data, quarter, icb, window, disclosed, "Group", *CORE20_GROUPS)


def core20_history(data, quarter, icb: str) -> pd.DataFrame:
    """Core20 share of participants with a known decile in the rolling 12 months to each quarter
    (NaN until four quarters exist), and its representation ratio (for the scorecard and SPC).
    Columns: Quarter, Core20Pct, PopulationPct, RepresentationRatio. Shares only, so no counts of
    people are shown.

    Rolling 12 months, not the quarter, so the headline is the same figure as the Core20 table and
    narrative (:func:`participants_core20`, rolling 12 months by default) and shares the period of
    the plan's participation measure (people taking part per 10,000 in a year); a quarter's few
    hundred participants give a noisy share.
    """
    counts = core20_counts(data, quarter, icb)
    population_pct = _core20_population_pct(icb)
    out = counts[["Quarter"]].copy()
    out["Core20Pct"] = kc.share(counts["Core20Participants"].to_numpy(), counts["KnownParticipants"].to_numpy())
    out["PopulationPct"] = population_pct
    out["RepresentationRatio"] = out["Core20Pct"] / population_pct if population_pct > 0 else np.nan
    return out


def _core20_population_pct(icb: str) -> float:
    """Share (%) of the ICB's population living in Core20 areas."""
    population = _reference(icb_population_by_imd_decile, icb)
    return 100.0 * population.loc[population["ImdDecile"].isin(CORE20_DECILES), "Share"].sum()


def core20_counts(data, quarter, icb: str) -> pd.DataFrame:
    """The counts behind :func:`core20_history`: participants from Core20 areas and participants
    with a known IMD decile in the rolling 12 months to each quarter (NaN until four quarters
    exist), exact (not disclosed: for peer comparison, see :mod:`helpers.kpis`).
    Columns: Quarter, Core20Participants, KnownParticipants."""
    quarter = parse(quarter)
    imd = kc.table(kc.icb_slice(data, icb), "recruitment_imd")
    known = imd[imd["ImdDecile"].notna()]
    core20 = known.assign(_core=known["Participants"].where(known["ImdDecile"].isin(CORE20_DECILES), 0))
    total = kc.by_quarter(known, "Participants", quarter)
    core = kc.by_quarter(core20, "_core", quarter, first=int(total.index[0]))
    out = kc.history_frame(total, "_known").drop(columns="_known")
    out["Core20Participants"] = kc.rolling_sum(core).to_numpy()
    out["KnownParticipants"] = kc.rolling_sum(total).to_numpy()
    return out


def participants_by_ethnicity(
    data, quarter, icb: str, window: str = "rolling_12_months", disclosed: bool = True
) -> pd.DataFrame:
    """Participants by ethnic group (ONS 2021 high-level groups): counts and shares only, as no
    population by ethnicity ships with the project. ``Not stated`` is left out of the shares.
    Columns: Quarter, Window, EthnicGroup, Participants, Pct."""
    quarter = parse(quarter)
    first, last = kc.window_ordinals(quarter, window)
    ethnicity = kc.table(kc.icb_slice(data, icb), "recruitment_ethnicity")
    ordinals = kc.frame_ordinals(ethnicity, "Month")
    ethnicity = ethnicity[(ordinals >= first) & (ordinals <= last)]
    counts = (
        ethnicity.groupby("EthnicGroup", observed=True)["Participants"].sum().reindex(list(ETHNIC_GROUPS), fill_value=0)
    )
    out = counts.rename_axis("EthnicGroup").rename("Participants").reset_index()
    out["Participants"] = out["Participants"].astype("int64")
    stated = out["EthnicGroup"] != NOT_STATED
    out["Pct"] = np.where(stated, kc.share(out["Participants"], out.loc[stated, "Participants"].sum()), np.nan)
    out.insert(0, "Quarter", quarter.id)
    out.insert(1, "Window", window)
    if not disclosed:
        return out
    return kc.published_breakdown(
        out, ["Participants"], "EthnicGroup", shares={"Pct": "Participants"}, unknown_label=NOT_STATED
    )


def ethnicity_representation(
    data, quarter, icb: str, window: str = "rolling_12_months", disclosed: bool = True
) -> pd.DataFrame:
    """Participants by ethnic group against the ICB's Census 2021 population: representation
    ratio = share of participants with a stated ethnic group / share of the ICB's residents (1 = as
    the population). ``Not stated`` is left out of the shares and ratios.

    Disclosed (default): counts rounded or suppressed as :func:`participants_by_ethnicity`, and the
    share and ratio computed from the rounded figures; a suppressed share gives a suppressed ratio.

    Columns: Quarter, Window, EthnicGroup, Participants, ParticipantPct, Population,
    PopulationPct, RepresentationRatio (rows: the five groups, then ``Total (known)`` when
    disclosed, then ``Not stated``).
    """
    out = participants_by_ethnicity(data, quarter, icb, window, disclosed).rename(columns={"Pct": "ParticipantPct"})
    census = icb_population_by_ethnic_group(icb).set_index("EthnicGroup")
    groups = out["EthnicGroup"]
    in_census = groups.isin(census.index).to_numpy()
    population = census["Population"].reindex(groups).to_numpy(dtype="float64", copy=True)
    population_pct = 100.0 * census["Share"].reindex(groups).to_numpy(dtype="float64", copy=True)
    total_known = (groups == kc.TOTAL_KNOWN).to_numpy()
    population[total_known] = census["Population"].sum()
    population_pct[total_known] = 100.0
    return _with_census(out, population, population_pct, in_census, disclosed)


def _with_census(
    out: pd.DataFrame, population: np.ndarray, population_pct: np.ndarray, in_census: np.ndarray, disclosed: bool
) -> pd.DataFrame:
    """The ethnicity breakdown ``out`` with each row's census population and share (NaN where the
    row is no census group) and the representation ratio from its (published) share."""
    out["Population"] = pd.array(np.where(np.isnan(population), pd.NA, population), dtype="Int64")
    out["PopulationPct"] = population_pct
    pct = out["ParticipantPct"]
    suppressed = pct.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    ratio = pd.to_numeric(pct.where(~suppressed), errors="coerce").to_numpy(dtype="float64") / population_pct
    ratio = np.where(in_census, ratio, np.nan)
    out["RepresentationRatio"] = pd.Series(ratio, index=out.index, dtype=object).where(~suppressed, SUPPRESSED)
    if not disclosed:
        out["RepresentationRatio"] = out["RepresentationRatio"].astype("float64")
    return out


# ---------------------------------------------------------------------------------------------
# Every ICB at once (the KPIs' ``all_icbs``, helpers.kpis, and the detail frames' ``all_icbs``,
# helpers.icb_frames): one pass over each table
# ---------------------------------------------------------------------------------------------
def _memo(data, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per data object, ``key`` and recruitment and studies tables
    (:func:`helpers.kpi_common.remembered`): the headline histories and the detail frames of a
    pass share the 12-million-row sums."""
    return kc.remembered(data, ("participation", *key), compute, ("recruitment", "studies"))


def _on_portfolio(data) -> np.ndarray:
    """Per recruitment row, whether its study is on the NIHR portfolio (a missing or unknown study
    is not); read-only."""

    def compute():
        # A site may recruit to a study led in another ICB, so portfolio status comes from every study.
        on_portfolio = set(kc.portfolio(kc.require_table(data, "studies"))["StudyId"].tolist())
        codes, ids = kc.study_codes(kc.require_table(data, "recruitment"))
        portfolio_code = np.append(np.fromiter((i in on_portfolio for i in ids), dtype=bool, count=len(ids)), False)
        flags = portfolio_code[codes]
        flags.flags.writeable = False
        return flags

    return _memo(data, ("on_portfolio",), compute)


def _participants_by_icb(data, quarter, icbs) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """:func:`participants` (exact) of scopes ``portfolio`` and ``not_portfolio`` for every ICB:
    base, starts and, per scope, the participants per ICB and quarter (see
    :func:`helpers.kpi_common.sums_by_icb_and_quarter`); read-only, computed once per quarter and ICBs."""
    quarter = parse(quarter)

    def compute():
        recruitment = kc.require_table(data, "recruitment")
        positions = kc.row_icbs(recruitment, "OrganisationCode", icbs, kc.icb_of_organisations(data))
        participants = recruitment["Participants"].to_numpy()
        # Every row counts towards the start (the quarters run from the first with any recruitment).
        weights = {"all": participants, "portfolio": np.where(_on_portfolio(data), participants, 0)}
        base, starts, sums = kc.sums_by_icb_and_quarter(
            positions, kc.frame_ordinals(recruitment, "Month"), quarter, len(icbs), weights
        )
        sums["not_portfolio"] = sums.pop("all") - sums["portfolio"]  # whole numbers: exact
        for array in (starts, *sums.values()):
            array.flags.writeable = False
        return base, starts, sums

    return _memo(data, ("participants", quarter.ordinal, tuple(icbs)), compute)


def participants_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    """:func:`participants` (``Participants``, exact) for every ICB of ``icbs`` at once: long frame
    IcbCode, Quarter, Value (see :class:`helpers.kpis.Kpi`)."""
    quarter = parse(quarter)
    base, starts, sums = _participants_by_icb(data, quarter, icbs)
    return kc.long_histories(icbs, quarter, base, starts, {"Value": sums["portfolio"]})


def _participants_frames(data, quarter, icbs, scopes: tuple[str, ...] = ("portfolio",)) -> pd.DataFrame:
    """:func:`participants` (disclosed) of every ICB of ``icbs``: IcbCode, Quarter, Participants,
    Rolling12Months (with scope ``not_portfolio`` too: NotPortfolioParticipants,
    NotPortfolioRolling12Months)."""
    quarter = parse(quarter)
    base, starts, sums = _participants_by_icb(data, quarter, icbs)
    prefix = {"portfolio": "", "not_portfolio": "NotPortfolio"}
    columns = {}
    for scope in scopes:
        columns[f"{prefix[scope]}Participants"] = sums[scope]
        columns[f"{prefix[scope]}Rolling12Months"] = kc.rolling_by_icb(sums[scope], base, starts)
    out = kc.long_histories(icbs, quarter, base, starts, columns)
    out["Quarter"] = out["Quarter"].astype("string")  # as kc.history_frame gives it
    for name in columns:
        out[name] = out[name].astype("Int64" if name.endswith("Rolling12Months") else "int64")
    # Disclosed cell by cell (no total across rows), so the whole frame at once equals each ICB's.
    return kc.published_counts(out, list(columns))


def participants_with_non_portfolio_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_with_non_portfolio` of every ICB of ``icbs``, ``IcbCode`` first."""
    return _participants_frames(data, quarter, icbs, ("portfolio", "not_portfolio"))


def participants_per_10k_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_per_10k` of every ICB of ``icbs`` with a population, ``IcbCode`` first."""
    populations = _each_icbs(_checked_population, icbs)
    chosen = [icb for icb in icbs if icb in populations]
    out = _participants_frames(data, quarter, chosen)[["IcbCode", "Quarter", "Rolling12Months"]]
    population = out["IcbCode"].map(populations).astype("int64")
    out["Population"] = population
    out["Per10000"] = _published_count(out["Rolling12Months"]) / population * 10_000
    return out


def participants_per_10k_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    """:func:`participants_per_10k` (``Per10000``, from the published rolling count) for every ICB
    of ``icbs`` at once: long frame IcbCode, Quarter, Value, with the counts behind it, Numerator
    (the published rolling 12-month count, NaN when suppressed or not yet full) and Denominator (the
    population)."""
    for icb in icbs:
        _checked_population(icb)  # the folder's history fails where one ICB's would
    frame = participants_per_10k_frames_all_icbs(data, quarter, icbs)
    return pd.DataFrame(
        {
            "IcbCode": frame["IcbCode"].to_numpy(),
            "Quarter": frame["Quarter"].astype(str).to_numpy(),
            "Value": frame["Per10000"].to_numpy(dtype="float64"),
            "Numerator": _published_count(frame["Rolling12Months"]).to_numpy(),
            "Denominator": frame["Population"].to_numpy(dtype="float64"),
        }
    )


def core20_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    """:func:`core20_history` (``Core20Pct``) for every ICB of ``icbs`` at once: long frame
    IcbCode, Quarter, Value, with the counts of :func:`core20_counts` behind it, Numerator (Core20
    participants) and Denominator (participants with a known decile), rolling 12 months."""
    quarter = parse(quarter)
    imd = kc.require_table(data, "recruitment_imd")
    decile = imd["ImdDecile"]
    known = decile.notna().to_numpy(dtype=bool)
    positions = np.where(known, kc.row_icbs(imd, "IcbCode", icbs), -1)  # history from known deciles only
    participants = imd["Participants"].to_numpy()
    is_core20 = np.asarray(decile.isin(CORE20_DECILES).fillna(False), dtype=bool)
    weights = {"known": participants, "core20": np.where(is_core20, participants, 0)}
    base, starts, sums = kc.sums_by_icb_and_quarter(
        positions, kc.frame_ordinals(imd, "Month"), quarter, len(icbs), weights
    )
    numerator = kc.rolling_by_icb(sums["core20"], base, starts)
    denominator = kc.rolling_by_icb(sums["known"], base, starts)
    columns = {"Value": kc.share(numerator, denominator), "Numerator": numerator, "Denominator": denominator}
    return kc.long_histories(icbs, quarter, base, starts, columns)


def _each_icbs(lookup: Callable[[str], Any], icbs) -> dict:
    """ICB -> ``lookup(icb)`` (from a population table), for the ICBs it does not raise for (their
    packs raise it)."""
    out = {}
    for icb in icbs:
        try:
            out[icb] = _reference(lookup, icb)
        except ValueError:
            continue
    return out


def core20_history_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`core20_history` of every ICB of ``icbs``, ``IcbCode`` first."""
    population_pct = _each_icbs(_core20_population_pct, icbs)
    history = core20_all_icbs(data, quarter, [icb for icb in icbs if icb in population_pct])
    pct = history["IcbCode"].map(population_pct).to_numpy(dtype="float64")
    out = pd.DataFrame({"IcbCode": history["IcbCode"], "Quarter": history["Quarter"].astype("string")})
    out["Core20Pct"] = history["Value"].to_numpy()
    out["PopulationPct"] = pct
    with np.errstate(divide="ignore", invalid="ignore"):
        out["RepresentationRatio"] = np.where(pct > 0, out["Core20Pct"].to_numpy() / pct, np.nan)
    return out


def _window_rows(frame: pd.DataFrame, positions: np.ndarray, quarter, window: str) -> np.ndarray:
    """Rows of ``frame`` of one of the ICBs (``positions`` >= 0) dated in ``window`` to ``quarter``."""
    first, last = kc.window_ordinals(parse(quarter), window)
    months = kc.frame_ordinals(frame, "Month")
    return np.flatnonzero((positions >= 0) & (months >= first) & (months <= last))


def _participants_by_organisation(data, quarter, icbs, window: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NIHR portfolio participants in ``window`` to ``quarter`` at each recruiting organisation of
    the ICBs: the organisation codes, each one's position in ``icbs`` and its participants
    (read-only), computed once per quarter, window and ICBs (places and types group the same sums)."""
    quarter = parse(quarter)

    def compute():
        recruitment = kc.require_table(data, "recruitment")
        first, last = kc.window_ordinals(quarter, window)
        months = kc.frame_ordinals(recruitment, "Month")
        rows = np.flatnonzero((months >= first) & (months <= last))
        rows = rows[_on_portfolio(data)[rows]]
        # The window's rows only are given their ICB (through their organisation, as kc.row_icbs does).
        codes, organisations = kc.codes_of(recruitment["OrganisationCode"].take(rows))
        icb_of, position = kc.icb_of_organisations(data), {icb: p for p, icb in enumerate(icbs)}
        organisation_icbs = np.array([position.get(icb_of.get(code), -1) for code in organisations], dtype="int64")
        weights = recruitment["Participants"].to_numpy()[rows]
        participants = np.bincount(codes[codes >= 0], weights=weights[codes >= 0], minlength=len(organisations))
        kept = organisation_icbs >= 0
        out = (organisations[kept], organisation_icbs[kept], participants[kept])
        for array in out:
            array.flags.writeable = False
        return out

    return _memo(data, ("by_organisation", quarter.ordinal, window, tuple(icbs)), compute)


def _by_organisation_column_all_icbs(data, quarter, icbs, column: str, window: str) -> pd.DataFrame:
    """:func:`_by_organisation_column` (disclosed, NIHR portfolio) of every ICB of ``icbs``."""
    quarter = parse(quarter)
    organisations = kc.require_table(data, "organisations")
    # Each ICB's labels (places or types) of its organisations, sorted within the ICB.
    labels = organisations[column].to_numpy(dtype=object)
    org_icbs = kc.row_icbs(organisations, "IcbCode", icbs)
    listed = (org_icbs >= 0) & pd.notna(labels)
    names = sorted(set(labels[listed].tolist()))
    rank_of = {name: r for r, name in enumerate(names)}
    ranks = np.array([rank_of.get(label, -1) if ok else -1 for label, ok in zip(labels, listed)], dtype="int64")
    cells = np.unique(org_icbs[listed] * len(names) + ranks[listed])  # (ICB, label) pairs, in ICB then label order
    cell_icbs, cell_ranks = cells // max(len(names), 1), cells % max(len(names), 1)
    # Portfolio participants in the window, by (ICB, label) of the recruiting organisation.
    recruiting, recruiting_icbs, recruited = _participants_by_organisation(data, quarter, icbs, window)
    label_of = dict(zip(organisations["OrganisationCode"].astype(str), labels))
    recruiting_ranks = np.array([rank_of.get(label_of.get(code), -1) for code in recruiting], dtype="int64")
    labelled = recruiting_ranks >= 0  # an organisation with no label is left out, as the rule's groupby does
    keys = recruiting_icbs[labelled] * len(names) + recruiting_ranks[labelled]
    found = np.minimum(np.searchsorted(cells, keys), max(len(cells) - 1, 0))
    # A recruiting organisation's (ICB, label) is one of the cells (both read from its row); guarded all the same.
    listed_cell = (cells[found] == keys) if len(cells) else np.zeros(len(keys), bool)
    participants = np.bincount(
        found[listed_cell], weights=recruited[labelled][listed_cell], minlength=len(cells)
    ).astype("int64")
    totals = np.bincount(cell_icbs, weights=participants, minlength=len(icbs))
    out = pd.DataFrame(
        {
            "IcbCode": np.asarray(icbs, dtype=object)[cell_icbs],
            "Quarter": quarter.id,
            "Window": window,
            column: np.asarray(names, dtype=object)[cell_ranks],
            "Participants": participants,
            "Pct": kc.share(participants, totals[cell_icbs]),
        }
    )
    published = kc.published_breakdowns(out, ["Participants"], column, "IcbCode", shares={"Pct": "Participants"})
    return _without_all_suppressed(published, "Participants")


def _without_all_suppressed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` without the ICBs whose every ``column`` figure is suppressed: their own frame holds
    the column as text (pandas infers it from all-``*`` values), which a column shared with other
    ICBs cannot; their packs compute them. (A breakdown with an unknown row is never all text.)"""
    text = np.fromiter((isinstance(v, str) for v in frame[column].array), dtype=bool, count=len(frame))
    all_text = pd.Series(text).groupby(frame["IcbCode"].to_numpy()).transform("all").to_numpy(dtype=bool)
    return frame[~all_text].reset_index(drop=True) if all_text.any() else frame


def participants_by_place_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_by_place` of every ICB of ``icbs``, ``IcbCode`` first."""
    return _by_organisation_column_all_icbs(data, quarter, icbs, "Place", "quarter")


def participants_by_organisation_type_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_by_organisation_type` of every ICB of ``icbs``, ``IcbCode`` first."""
    return _by_organisation_column_all_icbs(data, quarter, icbs, "OrganisationType", "quarter")


def _imd_population(icb: str) -> np.ndarray:
    """The ICB's population by IMD decile 1-10 (int64, read-only)."""
    population = _reference(icb_population_by_imd_decile, icb)
    out = population.set_index("ImdDecile")["Population"].reindex(range(1, 11)).to_numpy(dtype="int64")
    out.flags.writeable = False
    return out


def _census(icb: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The ICB's census population and share by group of :data:`CENSUS_ETHNIC_GROUPS` (float64,
    read-only), and its residents."""
    census = icb_population_by_ethnic_group(icb).set_index("EthnicGroup").reindex(list(CENSUS_ETHNIC_GROUPS))
    population = census["Population"].to_numpy(dtype="float64")
    share = census["Share"].to_numpy(dtype="float64")
    population.flags.writeable = share.flags.writeable = False
    return population, share, census["Population"].sum()


def _deprivation_all_icbs(
    data, quarter, icbs, window: str, column: str, groups: pd.Series, order: list[str]
) -> pd.DataFrame:
    """:func:`_deprivation` (disclosed) of every ICB of ``icbs`` with a population by decile."""
    quarter = parse(quarter)
    population_by_decile = _each_icbs(_imd_population, icbs)
    chosen = [icb for icb in icbs if icb in population_by_decile]
    size, width = len(chosen), len(order)
    imd = kc.require_table(data, "recruitment_imd")
    positions = kc.row_icbs(imd, "IcbCode", chosen)
    rows = _window_rows(imd, positions, quarter, window)
    positions = positions[rows]
    participants = imd["Participants"].to_numpy()[rows]
    decile = imd["ImdDecile"].to_numpy(dtype="float64", na_value=np.nan)[rows]
    known = ~np.isnan(decile)
    # Group of each decile 1-10 (a decile outside 1-10 has none: left out, as the rule's groupby does).
    group_of = np.append(pd.Index(order).get_indexer(groups.reindex(range(1, 11)).to_numpy()), -1)
    decile_index = np.where(known & (decile >= 1) & (decile <= 10), np.nan_to_num(decile) - 1, 10).astype("int64")
    row_groups = group_of[decile_index]
    grouped = known & (row_groups >= 0)
    counts = np.bincount(
        positions[grouped] * width + row_groups[grouped], weights=participants[grouped], minlength=size * width
    )
    counts = counts.astype("int64").reshape(size, width)
    unknown = np.bincount(positions[~known], weights=participants[~known], minlength=size).astype("int64")
    one_hot = (group_of[:10, None] == np.arange(width)[None, :]).astype("int64")  # decile -> group
    population = np.array([population_by_decile[icb] for icb in chosen], dtype="int64").reshape(size, 10) @ one_hot
    participant_pct, population_pct, ratio = _shares_and_ratio(counts, population)
    # Each ICB's groups, then its Unknown row (no population, no shares).
    nan = np.full((size, 1), np.nan)
    out = pd.DataFrame(
        {
            "IcbCode": np.repeat(np.asarray(chosen, dtype=object), width + 1),
            "Quarter": quarter.id,
            "Window": window,
            column: np.tile(np.asarray([*order, UNKNOWN], dtype=object), size),
            "Participants": np.hstack([counts, unknown[:, None]]).ravel(),
            "Population": pd.array(np.hstack([population, nan]).ravel(), dtype="Int64"),
            "ParticipantPct": np.hstack([participant_pct, nan]).ravel(),
            "PopulationPct": np.hstack([population_pct, nan]).ravel(),
            "RepresentationRatio": np.hstack([ratio, nan]).ravel(),
        }
    )
    published = kc.published_breakdowns(
        out, ["Participants"], column, "IcbCode", shares={"ParticipantPct": "Participants"}, unknown_label=UNKNOWN
    )
    return _with_published_ratio(published)


def participants_by_imd_quintile_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_by_imd_quintile` of every ICB of ``icbs``, ``IcbCode`` first."""
    return _deprivation_all_icbs(data, quarter, icbs, "rolling_12_months", "ImdQuintile", *QUINTILES)


def participants_core20_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`participants_core20` of every ICB of ``icbs``, ``IcbCode`` first."""
    return _deprivation_all_icbs(data, quarter, icbs, "rolling_12_months", "Group", *CORE20_GROUPS)


def ethnicity_representation_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`ethnicity_representation` of every ICB of ``icbs`` with a census population, ``IcbCode`` first."""
    quarter, window = parse(quarter), "rolling_12_months"
    census = _each_icbs(_census, icbs)
    chosen = [icb for icb in icbs if icb in census]
    size, width = len(chosen), len(ETHNIC_GROUPS)
    ethnicity = kc.require_table(data, "recruitment_ethnicity")
    positions = kc.row_icbs(ethnicity, "IcbCode", chosen)
    rows = _window_rows(ethnicity, positions, quarter, window)
    groups = kc.positions_in(ethnicity["EthnicGroup"].take(rows), pd.Index(list(ETHNIC_GROUPS)))
    grouped = groups >= 0  # a group not in the contract is left out, as the rule's reindex does
    counts = np.bincount(
        positions[rows][grouped] * width + groups[grouped],
        weights=ethnicity["Participants"].to_numpy()[rows][grouped],
        minlength=size * width,
    )
    counts = counts.astype("int64").reshape(size, width)
    stated = np.array([g != NOT_STATED for g in ETHNIC_GROUPS])
    pct = np.where(stated, kc.share(counts, counts[:, stated].sum(axis=1, keepdims=True)), np.nan)
    out = pd.DataFrame(
        {
            "IcbCode": np.repeat(np.asarray(chosen, dtype=object), width),
            "Quarter": quarter.id,
            "Window": window,
            "EthnicGroup": np.tile(np.asarray(ETHNIC_GROUPS, dtype=object), size),
            "Participants": counts.ravel(),
            "Pct": pct.ravel(),
        }
    )
    out = kc.published_breakdowns(
        out, ["Participants"], "EthnicGroup", "IcbCode", shares={"Pct": "Participants"}, unknown_label=NOT_STATED
    ).rename(columns={"Pct": "ParticipantPct"})
    # Each row's census population and share, by (ICB, group); the Total (known) row the ICB's residents.
    row_icbs = pd.Index(chosen).get_indexer(out["IcbCode"])
    row_groups = pd.Index(list(CENSUS_ETHNIC_GROUPS)).get_indexer(out["EthnicGroup"])
    in_census = row_groups >= 0
    population = np.where(in_census, np.stack([census[i][0] for i in chosen])[row_icbs, row_groups], np.nan)
    population_pct = np.where(in_census, 100.0 * np.stack([census[i][1] for i in chosen])[row_icbs, row_groups], np.nan)
    total_known = (out["EthnicGroup"] == kc.TOTAL_KNOWN).to_numpy()
    population[total_known] = np.array([census[i][2] for i in chosen], dtype="float64")[row_icbs[total_known]]
    population_pct[total_known] = 100.0
    return _with_census(out, population, population_pct, in_census, disclosed=True)


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "participants_per_10k": participants_per_10k_frames_all_icbs,
    "participants_with_non_portfolio": participants_with_non_portfolio_frames_all_icbs,
    "participants_by_place": participants_by_place_frames_all_icbs,
    "participants_by_organisation_type": participants_by_organisation_type_frames_all_icbs,
    "participants_by_imd_quintile": participants_by_imd_quintile_frames_all_icbs,
    "participants_core20": participants_core20_frames_all_icbs,
    "core20_history": core20_history_frames_all_icbs,
    "ethnicity_representation": ethnicity_representation_frames_all_icbs,
}
