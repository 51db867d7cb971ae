"""Every ICB's counts of a comparable KPI for one quarter, in one vectorised pass over the data.

For the peer figures of a many-ICB folder (:func:`helpers.benchmarks.peer_inputs`). Each function
is ``f(data, quarter, icbs) -> DataFrame`` with index ``icbs`` (ICB codes, in that order) and
float64 columns ``Numerator`` and ``Denominator``, NaN where the per-ICB helper has no value (a
rolling window not yet full, a suppressed count); a denominator of 0 is left as 0. Each is the
reported quarter's row of its KPI's all-ICB history (the ``*_all_icbs`` function beside the per-ICB
rule in :mod:`helpers.kpi_activity`, :mod:`helpers.kpi_participation`, :mod:`helpers.kpi_commercial`,
which keep the rule), registered as the ``all_icbs`` of its KPI's :class:`helpers.kpis.Comparable`;
the tests check them against the per-ICB ``Comparable.counts`` for every ICB
(tests/test_peer_counts.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_commercial, kpi_participation
from helpers.kpi_activity import gp_practices_recruiting_all_icbs
from helpers.quarters import parse


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
