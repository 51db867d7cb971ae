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

from helpers import kpi_common as kc, kpi_participation
from helpers.kpi_activity import gp_practices_recruiting_all_icbs
from helpers.kpi_commercial import COMMERCIAL, TRIAL_DESIGNS
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
    """:func:`helpers.kpi_activity.gp_practices_recruiting` for every ICB: the reported quarter's
    row of its all-ICB history (:func:`helpers.kpi_activity.gp_practices_recruiting_all_icbs`, the
    rule kept in one place): the ``gp_practice`` rows of the ICB's organisations (denominator) and,
    of those, the practices recruiting in the rolling 12 months (numerator; NaN until the ICB's
    recruitment history has a full window)."""
    quarter = parse(quarter)
    history = gp_practices_recruiting_all_icbs(data, quarter, icbs)
    reported = history[history["Quarter"] == quarter.id]  # every ICB's history ends at the quarter
    return _frame(icbs, reported["RecruitingGpPractices"].to_numpy(), reported["GpPractices"].to_numpy())


def participants_per_10k(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_participation.participants_per_10k` for every ICB: NIHR portfolio
    participants at the ICB's organisations in the rolling 12 months, published (1-7 suppressed:
    NaN; others rounded to 5), over the ICB's ONS mid-2022 population. The reported quarter's row
    of :func:`helpers.kpi_participation.participants_per_10k_all_icbs` (the rule is kept there)."""
    histories = kpi_participation.participants_per_10k_all_icbs(data, quarter, icbs)
    reported = histories[histories["Quarter"] == parse(quarter).id]  # one row per ICB, in the order of icbs
    return _frame(icbs, reported["Numerator"], reported["Denominator"])


def core20(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_participation.core20_counts` for every ICB: participants from Core20
    areas and participants with a known IMD decile in the rolling 12 months, exact (NaN until the
    ICB's known-decile history has a full window). The reported quarter's row of
    :func:`helpers.kpi_participation.core20_all_icbs` (the rule is kept there)."""
    histories = kpi_participation.core20_all_icbs(data, quarter, icbs)
    reported = histories[histories["Quarter"] == parse(quarter).id]  # one row per ICB, in the order of icbs
    return _frame(icbs, reported["Numerator"], reported["Denominator"])


def commercial_share(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`helpers.kpi_commercial.commercial_share_of_open_studies` for every ICB: NIHR portfolio
    studies led in the ICB open at any time in the quarter (denominator) and the commercial ones
    (numerator); trials only for an ICB whose portfolio studies give a ``StudyDesign``."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    studies = kc.require_table(data, "studies")
    portfolio = studies["NihrPortfolio"].to_numpy(dtype=bool)
    positions = np.where(
        portfolio, kc.row_icbs(studies, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data)), -1
    )
    if "StudyDesign" in studies.columns:
        design = studies["StudyDesign"]
        trials_only = kc.per_icb(np.where(design.notna().to_numpy(dtype=bool), positions, -1), None, size) > 0
        is_trial = np.asarray(design.isin(TRIAL_DESIGNS).fillna(False), dtype=bool)
        positions = np.where(is_trial | ~np.append(trials_only, False)[positions], positions, -1)
    opened = kc.frame_ordinals(studies, "ActualOpeningDate")
    closed = kc.frame_ordinals(studies, "ActualClosureToRecruitmentDate")
    is_open = (opened <= q) & (np.isnan(closed) | (closed >= q))
    commercial = np.asarray((studies["StudyRoute"] == COMMERCIAL).fillna(False), dtype=bool)
    denominator = kc.per_icb(np.where(is_open, positions, -1), None, size)
    numerator = kc.per_icb(np.where(is_open & commercial, positions, -1), None, size)
    return _frame(icbs, numerator, denominator)


def rtt(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """The ``All`` row of :func:`helpers.kpi_commercial.rtt_summary` for every ICB at the quarter's
    end: NIHR portfolio studies led in the ICB, open at the quarter's end, with a ``SampleSize``
    above 0 and a planned closure after opening (denominator), and those on track, RTT >= 0
    (numerator), counting participants recruited at the ICB's own organisations up to the
    quarter's end (:func:`helpers.kpi_commercial.recruitment_to_time_and_target`)."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    studies = kc.require_table(data, "studies")
    recruitment = kc.require_table(data, "recruitment")
    icb_of = kc.icb_of_organisations(data)
    end = np.datetime64(pd.Timestamp(quarter.end))
    opening = studies["ActualOpeningDate"].to_numpy()
    planned = studies["PlannedClosureToRecruitmentDate"].to_numpy()
    closure = studies["ActualClosureToRecruitmentDate"].to_numpy()
    sample_size = studies["SampleSize"].to_numpy(dtype="int64", na_value=0)
    assessed = (
        studies["NihrPortfolio"].to_numpy(dtype=bool)
        & (sample_size > 0)
        & ~np.isnat(planned)
        & (planned > opening)  # NaT compares False
        & (opening <= end)
        & (np.isnat(closure) | (closure > end))
    )
    study_icbs = np.where(assessed, kc.row_icbs(studies, "LeadOrganisationCode", icbs, icb_of), -1)
    chosen = np.flatnonzero(study_icbs >= 0)
    # Participants to date at each chosen study, recruited at organisations of the study's own ICB.
    codes, ids = kc.study_codes(recruitment)
    study_of_code = np.append(
        pd.Index(studies["StudyId"].to_numpy()[chosen]).get_indexer(pd.Index(ids, dtype=object)), -1
    )
    study_rows = study_of_code[codes]
    site_icbs = kc.row_icbs(recruitment, "OrganisationCode", icbs, icb_of)
    months = kc.frame_ordinals(recruitment, "Month")
    counted = (study_rows >= 0) & (months <= q)
    counted &= site_icbs == np.append(study_icbs[chosen], -2)[study_rows]
    recruited = np.bincount(
        study_rows[counted],
        weights=recruitment["Participants"].to_numpy(dtype="float64")[counted],
        minlength=len(chosen),
    ).astype("int64")
    # The per-ICB arithmetic, step for step, so that the on-track test agrees to the last bit.
    elapsed_days = (end - opening[chosen]) / np.timedelta64(1, "D") + 1
    planned_days = (planned[chosen] - opening[chosen]) / np.timedelta64(1, "D") + 1
    pct_time = 100.0 * elapsed_days / planned_days
    pct_target = 100.0 * recruited / sample_size[chosen]
    on_track = (pct_target / pct_time - 1) >= 0
    denominator = np.bincount(study_icbs[chosen], minlength=size).astype("float64")
    numerator = np.bincount(study_icbs[chosen][on_track], minlength=size).astype("float64")
    return _frame(icbs, numerator, denominator)


__all__ = ["commercial_share", "core20", "gp_practices", "participants_per_10k", "rtt"]
