"""Participation and equity KPIs: participants per quarter and rolling 12 months, per 10,000
population, by place and organisation type, by IMD quintile and Core20, by ethnic group.

Participants and the rate per 10,000 count NIHR portfolio studies only by default, as every
study KPI does (recruitment to a study not on the portfolio is shown apart, ``scope``).

Breakdowns of people counts are disclosure-controlled by default (``disclosed=True``, see
:func:`helpers.kpi_common.published`); pass ``disclosed=False`` only for calculation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.contract import ETHNIC_GROUPS
from helpers.disclosure import ROUNDING_BASE, SMALL_COUNT_MAX, SUPPRESSED
from helpers.population import icb_population, icb_population_by_ethnic_group, icb_population_by_imd_decile
from helpers.quarters import parse

CORE20_DECILES = (1, 2)  # Core20: the most deprived 20% nationally = IMD deciles 1 and 2
UNKNOWN = "Unknown"
NOT_STATED = "Not stated"
SCOPES = ("portfolio", "not_portfolio", "all")  # which studies' recruitment counts


class ZeroPopulationError(ValueError):
    """A rate per population was asked for with a population of zero."""


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
    population = icb_population(icb) if population is None else population
    if not population or population <= 0:
        raise ZeroPopulationError(
            f"population for ICB {icb} is {population}: a rate per 10,000 needs a population above 0"
        )
    out = participants(data, quarter, icb, disclosed=disclosed)[["Quarter", "Rolling12Months"]]
    out["Population"] = int(population)
    counts = pd.to_numeric(out["Rolling12Months"].where(out["Rolling12Months"] != SUPPRESSED), errors="coerce")
    out["Per10000"] = counts.astype("float64") / population * 10_000
    return out


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
    out["ParticipantPct"] = kc.share(out["Participants"], out["Participants"].sum())
    out["PopulationPct"] = kc.share(out["Population"], out["Population"].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        out["RepresentationRatio"] = np.where(
            out["PopulationPct"] > 0, out["ParticipantPct"] / out["PopulationPct"], np.nan
        )
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
    # The ratio is recomputed from the published (rounded) share; suppressed share -> suppressed ratio.
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
    groups = pd.Series([str((d + 1) // 2) for d in range(1, 11)], index=range(1, 11))
    return _deprivation(data, quarter, icb, window, disclosed, "ImdQuintile", groups, ["1", "2", "3", "4", "5"])


def participants_core20(
    data, quarter, icb: str, window: str = "rolling_12_months", disclosed: bool = True
) -> pd.DataFrame:
    """Participants living in Core20 areas (national IMD deciles 1-2) and elsewhere, against the
    population's share. Rows Core20, Other, Unknown; columns as :func:`participants_by_imd_quintile`
    with ``Group`` in place of ``ImdQuintile``."""
    groups = pd.Series(["Core20" if d in CORE20_DECILES else "Other" for d in range(1, 11)], index=range(1, 11))
    return _deprivation(data, quarter, icb, window, disclosed, "Group", groups, ["Core20", "Other"])


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
    population = icb_population_by_imd_decile(icb)
    population_pct = 100.0 * population.loc[population["ImdDecile"].isin(CORE20_DECILES), "Share"].sum()
    out = counts[["Quarter"]].copy()
    out["Core20Pct"] = kc.share(counts["Core20Participants"].to_numpy(), counts["KnownParticipants"].to_numpy())
    out["PopulationPct"] = population_pct
    out["RepresentationRatio"] = out["Core20Pct"] / population_pct if population_pct > 0 else np.nan
    return out


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
# Every ICB at once (the KPIs' ``all_icbs``, helpers.kpis): one pass over each table
# ---------------------------------------------------------------------------------------------
def _participants_by_icb(data, quarter, icbs) -> tuple[int, np.ndarray, np.ndarray]:
    """:func:`participants` (exact, NIHR portfolio) for every ICB: base, starts and the
    participants per ICB and quarter (see :func:`_quarterly_by_icb`)."""
    recruitment = kc.require_table(data, "recruitment")
    studies = kc.require_table(data, "studies")
    positions = kc.row_icbs(recruitment, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    months = kc.frame_ordinals(recruitment, "Month")
    codes, ids = kc.study_codes(recruitment)
    # A site may recruit to a study led in another ICB, so portfolio status comes from every study.
    on_portfolio = set(kc.portfolio(studies)["StudyId"].tolist())
    portfolio_code = np.append(np.fromiter((i in on_portfolio for i in ids), dtype=bool, count=len(ids)), False)
    # Every row counts towards the start (the quarters run from the first with any recruitment).
    portfolio_participants = np.where(portfolio_code[codes], recruitment["Participants"].to_numpy(), 0)
    base, starts, sums = kc.sums_by_icb_and_quarter(
        positions, months, quarter, len(icbs), {"participants": portfolio_participants}
    )
    return base, starts, sums["participants"]


def participants_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    """:func:`participants` (``Participants``, exact) for every ICB of ``icbs`` at once: long frame
    IcbCode, Quarter, Value (see :class:`helpers.kpis.Kpi`)."""
    quarter = parse(quarter)
    base, starts, per_quarter = _participants_by_icb(data, quarter, icbs)
    return kc.long_histories(icbs, quarter, base, starts, {"Value": per_quarter})


def participants_per_10k_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    """:func:`participants_per_10k` (``Per10000``, from the published rolling count) for every ICB
    of ``icbs`` at once: long frame IcbCode, Quarter, Value, with the counts behind it, Numerator
    (the published rolling 12-month count, NaN when suppressed or not yet full) and Denominator (the
    population)."""
    quarter = parse(quarter)
    populations = []
    for icb in icbs:
        population = icb_population(icb)
        if not population or population <= 0:
            raise ZeroPopulationError(
                f"population for ICB {icb} is {population}: a rate per 10,000 needs a population above 0"
            )
        populations.append(population)
    base, starts, per_quarter = _participants_by_icb(data, quarter, icbs)
    rolling = kc.rolling_by_icb(per_quarter, base, starts)
    # Published as helpers.disclosure does: 1-7 suppressed (NaN), others rounded to the nearest 5.
    exact = np.nan_to_num(rolling).astype("int64")
    rounded = (exact + ROUNDING_BASE // 2) // ROUNDING_BASE * ROUNDING_BASE
    published = np.where(np.isnan(rolling) | ((exact >= 1) & (exact <= SMALL_COUNT_MAX)), np.nan, rounded)
    population = np.broadcast_to(np.asarray(populations, dtype="int64")[:, None], published.shape)
    columns = {
        "Value": published / population * 10_000,
        "Numerator": published,
        "Denominator": population.astype("float64"),
    }
    return kc.long_histories(icbs, quarter, base, starts, columns)


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


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {}
