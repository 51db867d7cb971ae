"""Engagement KPIs: PPIE activity and contributors, portal and Be Part of Research registrations,
events and attendance per quarter. Measures that count people are disclosure-controlled by default."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.contract import ENGAGEMENT_MEASURES, PEOPLE_COUNT_MEASURES
from helpers.quarters import parse


def engagement(data, quarter, icb: str, disclosed: bool = True) -> pd.DataFrame:
    """Every engagement measure per quarter (0 where not reported), wide: one column per measure.
    Columns: Quarter, ppie_activities, ppie_contributors, portal_registrations,
    bpor_registrations, events, event_attendance."""
    quarter = parse(quarter)
    rows = kc.table(kc.icb_slice(data, icb), "engagement")
    ordinals = kc.quarter_id_ordinals(rows["Quarter"])
    rows = rows[ordinals <= quarter.ordinal]
    first = int(ordinals[ordinals <= quarter.ordinal].min()) if len(rows) else quarter.ordinal
    ids = kc.quarter_ids(kc.history_index(first, quarter))
    wide = (
        rows.pivot_table(index="Quarter", columns="Measure", values="Value", aggfunc="sum", observed=True)
        .reindex(index=ids, columns=list(ENGAGEMENT_MEASURES))
        .fillna(0)
        .astype("int64")
    )
    wide.columns = list(wide.columns)
    out = wide.rename_axis("Quarter").reset_index()
    out["Quarter"] = out["Quarter"].astype("string")
    return kc.published_counts(out, list(PEOPLE_COUNT_MEASURES)) if disclosed else out


def _engagement_sums(data, quarter, icbs, measures) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """Each of ``measures`` summed per ICB of ``icbs`` (rows) and quarter (columns), as
    :func:`helpers.kpi_common.sums_by_icb_and_quarter` gives them: each ICB's history from its first
    quarter with any engagement row (any measure)."""
    quarter = parse(quarter)
    rows = kc.require_table(data, "engagement")
    codes, uniques = kc.codes_of(rows["Measure"])
    values = rows["Value"].to_numpy(dtype="float64")
    # a measure's rows keep their value, every other row adds 0 (but still starts the history)
    code_of = {measure: code for code, measure in enumerate(uniques)}
    weights = {m: np.where(codes == code_of.get(m, -2), values, 0.0) for m in measures}  # codes: -1 for missing
    return kc.sums_by_icb_and_quarter(
        kc.row_icbs(rows, "IcbCode", icbs), kc.quarter_id_ordinals(rows["Quarter"]), quarter, len(icbs), weights
    )


def engagement_all_icbs(data, quarter, icbs, measure: str) -> pd.DataFrame:
    """One measure of :func:`engagement` (exact) for every ICB of ``icbs`` at once: long frame
    IcbCode, Quarter, Value (see :class:`helpers.kpis.Kpi`). Each ICB's quarters run from its first
    quarter with any engagement row (any measure) to ``quarter``, 0 where the measure is not reported."""
    if measure not in ENGAGEMENT_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(ENGAGEMENT_MEASURES)}, got {measure!r}")
    quarter = parse(quarter)
    base, starts, sums = _engagement_sums(data, quarter, icbs, [measure])
    # The per-ICB table is whole numbers (astype int64), then float for the series.
    return kc.long_histories(icbs, quarter, base, starts, {"Value": sums[measure].astype("int64").astype("float64")})


def engagement_frames_all_icbs(data, quarter, icbs) -> pd.DataFrame:
    """:func:`engagement` (disclosed) for every ICB at once, ``IcbCode`` first."""
    quarter = parse(quarter)
    base, starts, sums = _engagement_sums(data, quarter, icbs, ENGAGEMENT_MEASURES)
    out = kc.long_histories(icbs, quarter, base, starts, sums).astype({m: "int64" for m in ENGAGEMENT_MEASURES})
    out["Quarter"] = out["Quarter"].astype("string")
    return kc.published_counts_all_icbs(out, list(PEOPLE_COUNT_MEASURES))


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {"engagement": engagement_frames_all_icbs}
