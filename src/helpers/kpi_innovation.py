"""Innovation KPIs: the pipeline by stage at the quarter's end, stage movements in the quarter and
quantified benefits (including the Pharmacy Clinical Trials Alignment Project)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import kpi_common as kc
from helpers.contract import INNOVATION_STAGES
from helpers.quarters import parse

PHARMACY_ALIGNMENT_NAME = "Pharmacy Clinical Trials Alignment"


def _stage_changes(data, quarter, icb: str) -> pd.DataFrame:
    """The ICB's stage changes dated up to the quarter's end, in date order per innovation."""
    quarter = parse(quarter)
    innovations = kc.table(kc.icb_slice(data, icb), "innovations")
    changes = innovations[innovations["StageDate"] <= pd.Timestamp(quarter.end)]
    stage_rank = changes["Stage"].map({s: i for i, s in enumerate(INNOVATION_STAGES)}).astype("int64")
    # Same-day changes are ordered by the pipeline's stage order.
    return (
        changes.assign(_rank=stage_rank)
        .sort_values(["InnovationId", "StageDate", "_rank"], ignore_index=True)
        .drop(columns="_rank")
    )


def pipeline_by_stage(data, quarter, icb: str) -> pd.DataFrame:
    """Innovations by their latest stage at the quarter's end (every stage listed, 0 when none).
    Columns: Quarter, Stage, Innovations."""
    quarter = parse(quarter)
    latest = _stage_changes(data, quarter, icb).groupby("InnovationId", observed=True).tail(1)
    counts = latest["Stage"].value_counts().reindex(list(INNOVATION_STAGES), fill_value=0).astype("int64")
    out = counts.rename_axis("Stage").rename("Innovations").reset_index()
    out.insert(0, "Quarter", quarter.id)
    return out


def stage_movements(data, quarter, icb: str) -> pd.DataFrame:
    """Stage changes dated in the quarter, with the stage each innovation came from (blank for a
    newly identified one). Columns: InnovationId, InnovationName, FromStage, ToStage, StageDate."""
    quarter = parse(quarter)
    changes = _stage_changes(data, quarter, icb)
    previous = changes.groupby("InnovationId", observed=True)["Stage"].shift(1)
    in_quarter = (changes["StageDate"] >= pd.Timestamp(quarter.start)).to_numpy()
    out = pd.DataFrame(
        {
            "InnovationId": changes["InnovationId"].to_numpy()[in_quarter],
            "InnovationName": changes["InnovationName"].to_numpy()[in_quarter],
            "FromStage": previous.to_numpy()[in_quarter],
            "ToStage": changes["Stage"].to_numpy()[in_quarter],
            "StageDate": changes["StageDate"].to_numpy()[in_quarter],
        }
    )
    for column in ("InnovationId", "InnovationName", "FromStage", "ToStage"):
        out[column] = out[column].astype("string")
    return out.sort_values(["StageDate", "InnovationId"], ignore_index=True)


def benefits_by_measure(data, quarter, icb: str, innovation_ids=None, disclosed: bool = True) -> pd.DataFrame:
    """Quantified benefits per measure and unit: realised in the quarter and cumulative to its end.
    ``innovation_ids`` limits them to some innovations. Benefits in unit ``patients`` count people
    and are disclosure-controlled unless ``disclosed=False`` (rounded to whole people first, as a
    modelled benefit may be fractional).
    Columns: Quarter, BenefitMeasure, Unit, InQuarter, Cumulative."""
    quarter = parse(quarter)
    benefits = kc.table(kc.icb_slice(data, icb), "innovation_benefits")
    if innovation_ids is not None:
        benefits = benefits[benefits["InnovationId"].isin(list(innovation_ids))]
    ordinals = kc.quarter_id_ordinals(benefits["Quarter"])
    benefits = benefits.assign(_in_quarter=np.where(ordinals == quarter.ordinal, benefits["Value"], 0.0))
    benefits = benefits[ordinals <= quarter.ordinal]
    grouped = benefits.groupby(["BenefitMeasure", "Unit"], observed=True)
    out = pd.DataFrame({"InQuarter": grouped["_in_quarter"].sum(), "Cumulative": grouped["Value"].sum()}).reset_index()
    out.insert(0, "Quarter", quarter.id)
    out = out.sort_values(["BenefitMeasure", "Unit"], ignore_index=True)
    return _published_benefits(out) if disclosed else out


def _published_benefits(out: pd.DataFrame) -> pd.DataFrame:
    """Benefits frame with the ``patients`` rows' figures disclosure-controlled, cell by cell."""
    people = (out["Unit"] == "patients").to_numpy()
    # A modelled benefit can be a fraction of a patient: round to whole people before disclosure.
    for column in ("InQuarter", "Cumulative"):
        out[column] = out[column].astype(object)
        out.loc[people, column] = out.loc[people, column].astype("float64").round().astype("int64").to_numpy()
    return kc.published_counts(out, ["InQuarter", "Cumulative"], rows=people)


def pharmacy_alignment_benefits(
    data, quarter, icb: str, name_contains: str = PHARMACY_ALIGNMENT_NAME, disclosed: bool = True
) -> pd.DataFrame:
    """:func:`benefits_by_measure` of the innovations whose name contains ``name_contains``
    (case-insensitive), by default the Pharmacy Clinical Trials Alignment Project."""
    innovations = kc.table(kc.icb_slice(data, icb), "innovations")
    matches = innovations["InnovationName"].str.contains(name_contains, case=False, regex=False)
    return benefits_by_measure(
        data, quarter, icb, innovation_ids=innovations.loc[matches, "InnovationId"].unique(), disclosed=disclosed
    )


def pipeline_history(data, quarter, icb: str) -> pd.DataFrame:
    """Innovations by latest stage at the end of every quarter from the first stage change to
    ``quarter`` (long: one row per quarter and stage). Columns: Quarter, Stage, Innovations."""
    quarter = parse(quarter)
    changes = _stage_changes(data, quarter, icb)
    ordinals = kc.frame_ordinals(changes, "StageDate")
    first = int(ordinals.min()) if len(changes) else quarter.ordinal
    rows, held = kc.expand_until_next(changes["InnovationId"].to_numpy(), ordinals, quarter.ordinal)
    stages = changes["Stage"].to_numpy()[rows]
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([held, stages])).groupby(level=[0, 1]).sum()
    grid = pd.MultiIndex.from_product([kc.history_index(first, quarter), list(INNOVATION_STAGES)])
    counts = counts.reindex(grid, fill_value=0)
    return pd.DataFrame(
        {
            "Quarter": pd.array(kc.quarter_ids(grid.get_level_values(0)), dtype="string"),
            "Stage": pd.array(grid.get_level_values(1), dtype="string"),
            "Innovations": counts.to_numpy(dtype="int64"),
        }
    )


def _ordered_changes(data, quarter, icbs: Sequence[str]):
    """Every ICB's stage changes dated up to the quarter's end, ICB by ICB (in the order of
    ``icbs``) and within each in :func:`_stage_changes`' order: the innovations table, its rows'
    positions, and per row its ICB's position, innovation code (in id order) and stage rank."""
    innovations = kc.require_table(data, "innovations")
    positions = kc.row_icbs(innovations, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
    dated = (innovations["StageDate"] <= pd.Timestamp(quarter.end)).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero((positions >= 0) & dated)
    # Codes in id order (factorize sorts as sort_values does): movements are ordered by id.
    ids = pd.factorize(innovations["InnovationId"].iloc[rows], sort=True)[0].astype("int64")
    ranks = innovations["Stage"].iloc[rows].map({s: i for i, s in enumerate(INNOVATION_STAGES)}).astype("int64")
    days = innovations["StageDate"].to_numpy(dtype="datetime64[ns]")[rows].astype("int64")
    # Stable, as _stage_changes' sort: rows equal in all keys keep the table's order.
    order = np.lexsort((ranks.to_numpy(), days, ids, positions[rows]))
    rows = rows[order]
    return innovations, rows, positions[rows], ids[order], ranks.to_numpy()[order]


def pipeline_history_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`pipeline_history` for every ICB at once, wide: IcbCode, Quarter and one column per
    stage of :data:`helpers.contract.INNOVATION_STAGES` (innovations at that stage at the quarter's
    end); each ICB's rows from its own first stage change, innovations by their lead
    organisation's ICB."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    innovations, rows, icb_rows, ids, stage_ranks = _ordered_changes(data, quarter, icbs)
    ordinals = kc.frame_ordinals(innovations, "StageDate")[rows]
    starts = kc.first_ordinals(icb_rows, ordinals, size, default=q).astype("int64")
    base = int(starts.min()) if size else q
    width = q - base + 1
    # An innovation is one id within one ICB: the key keeps equal ids of two ICBs apart.
    keys = icb_rows.astype("int64") * (int(ids.max(initial=0)) + 2) + ids
    held_rows, held = kc.expand_until_next(keys, ordinals, q)
    cells = icb_rows[held_rows] * width + held - base
    columns = {}
    for rank, stage in enumerate(INNOVATION_STAGES):
        at_stage = stage_ranks[held_rows] == rank
        columns[stage] = np.bincount(cells[at_stage], minlength=size * width).reshape(size, width).astype("float64")
    return kc.long_histories(icbs, quarter, base, starts, columns)


def pipeline_by_stage_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`pipeline_by_stage` of every ICB: its :func:`pipeline_history_all_icbs` row at the quarter."""
    quarter = parse(quarter)
    history = pipeline_history_all_icbs(data, quarter, icbs)
    at_quarter = history[history["Quarter"].to_numpy() == quarter.id]  # one row per ICB of icbs
    stages = list(INNOVATION_STAGES)
    return pd.DataFrame(
        {
            "IcbCode": np.repeat(at_quarter["IcbCode"].to_numpy(), len(stages)),
            "Quarter": quarter.id,
            "Stage": np.tile(np.asarray(stages, dtype=object), len(at_quarter)),
            "Innovations": at_quarter[stages].to_numpy(dtype="int64").ravel(),
        }
    )


def stage_movements_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`stage_movements` of every ICB (an ICB with none left out)."""
    quarter = parse(quarter)
    innovations, rows, icb_rows, ids, _ = _ordered_changes(data, quarter, icbs)
    stages = innovations["Stage"].to_numpy(dtype=object)[rows]
    # The stage an innovation came from: the previous change of the same innovation in the same ICB.
    previous = np.full(len(rows), np.nan, dtype=object)
    same = (icb_rows[1:] == icb_rows[:-1]) & (ids[1:] == ids[:-1])
    previous[1:][same] = stages[:-1][same]
    days = innovations["StageDate"].to_numpy(dtype="datetime64[ns]")[rows]
    moved = np.flatnonzero(days >= np.datetime64(pd.Timestamp(quarter.start)))
    # stage_movements' stable sort by date then id, after _stage_changes' order.
    moved = moved[np.lexsort((ids[moved], days[moved].astype("int64"), icb_rows[moved]))]
    out = pd.DataFrame(
        {
            "IcbCode": np.asarray(list(icbs), dtype=object)[icb_rows[moved]],
            "InnovationId": innovations["InnovationId"].to_numpy()[rows[moved]],
            "InnovationName": innovations["InnovationName"].to_numpy()[rows[moved]],
            "FromStage": previous[moved],
            "ToStage": stages[moved],
            "StageDate": days[moved],
        }
    )
    for column in ("InnovationId", "InnovationName", "FromStage", "ToStage"):
        out[column] = out[column].astype("string")
    return out


def _benefits_all_icbs(data, quarter, icbs: Sequence[str], name_contains: str | None = None) -> pd.DataFrame:
    """:func:`benefits_by_measure` of every ICB (an ICB with none left out), of the innovations
    whose name contains ``name_contains`` when given (as :func:`pharmacy_alignment_benefits`)."""
    quarter = parse(quarter)
    benefits = kc.require_table(data, "innovation_benefits")
    if name_contains is not None:  # pharmacy_alignment_benefits needs the innovations
        kc.require_table(data, "innovations")
    innovations = getattr(data, "innovations", None)
    if innovations is None:  # icb_slice then gives every ICB no benefits
        positions, ids, uniques = np.empty(0, "int64"), np.empty(0, "int64"), np.empty(0, object)
    else:
        positions = kc.row_icbs(innovations, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
        chosen = positions >= 0
        if name_contains is not None:
            names = innovations["InnovationName"].str.contains(name_contains, case=False, regex=False)
            chosen &= names.to_numpy(dtype=bool, na_value=False)
        ids, uniques = pd.factorize(innovations["InnovationId"].to_numpy(dtype=object)[chosen])
        positions = positions[chosen][ids >= 0]
        ids = ids[ids >= 0]
    # Each (ICB, innovation) once: a benefit counts for every ICB leading an innovation of its id.
    size = max(len(icbs), 1)
    pair_ids, pair_icbs = np.divmod(np.unique(ids.astype("int64") * size + positions), size)
    benefit_ids = kc.positions_in(benefits["InnovationId"], pd.Index(uniques, dtype=object))
    ordinals = kc.frame_quarter_ordinals(benefits, "Quarter")
    kept = np.flatnonzero((benefit_ids >= 0) & (ordinals <= quarter.ordinal))
    per_id = np.bincount(pair_ids, minlength=len(uniques))
    first_pair = np.cumsum(per_id) - per_id
    # Every kept benefit row once per ICB of its innovation, in the table's order (sums add up
    # each group's values in the same order as on the ICB's own rows).
    repeats = per_id[benefit_ids[kept]]
    rows = np.repeat(kept, repeats)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    icb_rows = pair_icbs[np.repeat(first_pair[benefit_ids[kept]], repeats) + within]
    values = benefits["Value"].to_numpy(dtype="float64")[rows]
    frame = (
        benefits[["BenefitMeasure", "Unit"]]
        .take(rows)
        .assign(_icb=icb_rows, _in_quarter=np.where(ordinals[rows] == quarter.ordinal, values, 0.0), Value=values)
    )
    grouped = frame.groupby(["_icb", "BenefitMeasure", "Unit"], observed=True)
    out = pd.DataFrame({"InQuarter": grouped["_in_quarter"].sum(), "Cumulative": grouped["Value"].sum()}).reset_index()
    out.insert(0, "Quarter", quarter.id)
    out.insert(0, "IcbCode", np.asarray(list(icbs), dtype=object)[out.pop("_icb").to_numpy()])
    return _published_benefits(out)


def benefits_by_measure_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`benefits_by_measure` of every ICB (an ICB with none left out)."""
    return _benefits_all_icbs(data, quarter, icbs)


def pharmacy_alignment_benefits_frames_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`pharmacy_alignment_benefits` of every ICB (an ICB with none left out)."""
    return _benefits_all_icbs(data, quarter, icbs, name_contains=PHARMACY_ALIGNMENT_NAME)


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {
    "pipeline_by_stage": pipeline_by_stage_frames_all_icbs,
    "stage_movements": stage_movements_frames_all_icbs,
    "benefits_by_measure": benefits_by_measure_frames_all_icbs,
    "pharmacy_alignment_benefits": pharmacy_alignment_benefits_frames_all_icbs,
}
