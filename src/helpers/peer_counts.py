"""Every ICB's counts of a comparable KPI for one quarter, in one vectorised pass over the data.

The per-ICB helpers (:mod:`helpers.kpi_activity`, :mod:`helpers.kpi_participation`,
:mod:`helpers.kpi_commercial`) compute one ICB's history from its slice of the data
(:func:`helpers.kpi_common.icb_slice`); for the peer figures of a many-ICB folder
(:func:`helpers.benchmarks.peer_inputs`) that is 42 slices of every table. The functions here give
the same numerator and denominator, for the quarter reported only, for every ICB at once: each row
is given its ICB the way ``icb_slice`` does (its ``IcbCode``, or its organisation's ICB from the
organisations table; a study by its lead organisation) and the counts are grouped by ICB.

Each function is ``f(data, quarter, icbs) -> DataFrame`` with index ``icbs`` (ICB codes, in that
order) and float64 columns ``Numerator`` and ``Denominator``, NaN where the per-ICB helper has no
value (a rolling window not yet full, a suppressed count); a denominator of 0 is left as 0. Each is
registered as the ``all_icbs`` of its KPI's :class:`helpers.kpis.Comparable`; the tests check them
against the per-ICB ``Comparable.counts`` for every ICB (tests/test_peer_counts.py), so a change to
a per-ICB rule must be made here too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_commercial, kpi_common as kc
from helpers.disclosure import ROUNDING_BASE, SMALL_COUNT_MAX
from helpers.kpi_participation import CORE20_DECILES, ZeroPopulationError
from helpers.population import icb_population
from helpers.quarters import parse

_WINDOW = kc.ROLLING_QUARTERS - 1  # a rolling window ending in quarter q starts in q - 3


def _frame(icbs: Sequence[str], numerator: np.ndarray, denominator: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"Numerator": np.asarray(numerator, dtype="float64"), "Denominator": np.asarray(denominator, dtype="float64")},
        index=pd.Index(list(icbs), name="IcbCode"),
    )


# ---------------------------------------------------------------------------------------------
# The comparable KPIs
# ---------------------------------------------------------------------------------------------
def gp_practices(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_activity.gp_practices_recruiting` for every ICB: the ``gp_practice`` rows
    of its organisations (denominator) and, of those, the practices with participants > 0 at the
    ICB's organisations in the rolling 12 months (numerator; NaN until the ICB's recruitment
    history has a full window)."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    organisations = kc.require_table(data, "organisations")
    recruitment = kc.require_table(data, "recruitment")
    icb_of = kc.icb_of_organisations(data)
    is_practice = np.asarray((organisations["OrganisationType"] == "gp_practice").fillna(False), dtype=bool)
    organisation_icbs = kc.row_icbs(organisations, "IcbCode", icbs)
    practices = np.where(is_practice, organisation_icbs, -1)
    denominator = kc.per_icb(practices, None, size)
    listed = {
        (int(p), code) for p, code in zip(practices, organisations["OrganisationCode"].astype(str).to_numpy()) if p >= 0
    }
    positions = kc.row_icbs(recruitment, "OrganisationCode", icbs, icb_of)
    months = kc.frame_ordinals(recruitment, "Month")
    rows = np.flatnonzero(
        (positions >= 0) & (months >= q - _WINDOW) & (months <= q) & (recruitment["Participants"].to_numpy() > 0)
    )
    codes, organisation_codes = pd.factorize(recruitment["OrganisationCode"].iloc[rows].astype(str))
    pairs = np.unique(positions[rows] * (len(organisation_codes) + 1) + codes)
    recruiting = np.zeros(size, dtype="float64")
    for pair in pairs:
        p, code = divmod(int(pair), len(organisation_codes) + 1)
        if (p, str(organisation_codes[code])) in listed:
            recruiting[p] += 1
    numerator = np.where(kc.history_full(positions, months, q, size), recruiting, np.nan)
    return _frame(icbs, numerator, denominator)


def participants_per_10k(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_participation.participants_per_10k` for every ICB: NIHR portfolio
    participants at the ICB's organisations in the rolling 12 months, published (1-7 suppressed:
    NaN; others rounded to 5), over the ICB's ONS mid-2022 population."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    recruitment = kc.require_table(data, "recruitment")
    studies = kc.require_table(data, "studies")
    populations = []
    for icb in icbs:
        population = icb_population(icb)
        if not population or population <= 0:
            raise ZeroPopulationError(
                f"population for ICB {icb} is {population}: a rate per 10,000 needs a population above 0"
            )
        populations.append(population)
    positions = kc.row_icbs(recruitment, "OrganisationCode", icbs, kc.icb_of_organisations(data))
    months = kc.frame_ordinals(recruitment, "Month")
    codes, ids = kc.study_codes(recruitment)
    # A site may recruit to a study led in another ICB, so portfolio status comes from every study.
    on_portfolio = set(kc.portfolio(studies)["StudyId"].tolist())
    portfolio_code = np.append(np.fromiter((i in on_portfolio for i in ids), dtype=bool, count=len(ids)), False)
    in_window = (months >= q - _WINDOW) & (months <= q) & portfolio_code[codes]
    exact = kc.per_icb(np.where(in_window, positions, -1), recruitment["Participants"].to_numpy(), size)
    exact = exact.astype("int64")
    published = np.where(
        (exact >= 1) & (exact <= SMALL_COUNT_MAX),
        np.nan,
        (exact + ROUNDING_BASE // 2) // ROUNDING_BASE * ROUNDING_BASE,
    )
    numerator = np.where(kc.history_full(positions, months, q, size), published, np.nan)
    return _frame(icbs, numerator, np.asarray(populations, dtype="float64"))


def core20(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_participation.core20_counts` for every ICB: participants from Core20
    areas and participants with a known IMD decile in the rolling 12 months, exact (NaN until the
    ICB's known-decile history has a full window)."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    imd = kc.require_table(data, "recruitment_imd")
    decile = imd["ImdDecile"]
    known = decile.notna().to_numpy(dtype=bool)
    positions = np.where(known, kc.row_icbs(imd, "IcbCode", icbs), -1)
    months = kc.frame_ordinals(imd, "Month")
    participants = imd["Participants"].to_numpy()
    in_window = (months >= q - _WINDOW) & (months <= q)
    is_core20 = np.asarray(decile.isin(CORE20_DECILES).fillna(False), dtype=bool) & known
    full = kc.history_full(positions, months, q, size)
    denominator = kc.per_icb(np.where(in_window, positions, -1), participants, size)
    numerator = kc.per_icb(np.where(in_window & is_core20, positions, -1), participants, size)
    return _frame(icbs, np.where(full, numerator, np.nan), np.where(full, denominator, np.nan))


def commercial_share(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_commercial.commercial_share_of_open_studies` for every ICB: NIHR portfolio
    studies led in the ICB open at any time in the quarter (denominator) and the commercial ones
    (numerator); trials only for an ICB whose portfolio studies give a ``StudyDesign``. The
    quarter's row of :func:`helpers.kpi_commercial.commercial_share_all_icbs`, which has the rule."""
    row = kpi_commercial.commercial_share_all_icbs(data, quarter, icbs, quarter_only=True)
    return _frame(icbs, row["CommercialOpenStudies"].to_numpy(), row["OpenStudies"].to_numpy())


def rtt(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """The ``All`` row of :func:`helpers.kpi_commercial.rtt_summary` for every ICB at the quarter's
    end: NIHR portfolio studies led in the ICB, open at the quarter's end, with a ``SampleSize``
    above 0 and a planned closure after opening (denominator), and those on track, RTT >= 0
    (numerator), counting participants recruited at the ICB's own organisations up to the
    quarter's end. The quarter's row of :func:`helpers.kpi_commercial.rtt_summary_all_icbs`."""
    row = kpi_commercial.rtt_summary_all_icbs(data, quarter, icbs, quarters=1)
    return _frame(icbs, row["OnTrack"].to_numpy(), row["StudiesAssessed"].to_numpy())


__all__ = ["commercial_share", "core20", "gp_practices", "participants_per_10k", "rtt"]
