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
    if not disclosed:
        return out
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


def pipeline_history_all_icbs(data, quarter, icbs: Sequence[str]) -> pd.DataFrame:
    """:func:`pipeline_history` for every ICB at once, wide: IcbCode, Quarter and one column per
    stage of :data:`helpers.contract.INNOVATION_STAGES` (innovations at that stage at the quarter's
    end); each ICB's rows from its own first stage change, innovations by their lead
    organisation's ICB."""
    quarter = parse(quarter)
    q, size = quarter.ordinal, len(icbs)
    innovations = kc.require_table(data, "innovations")
    positions = kc.row_icbs(innovations, "LeadOrganisationCode", icbs, kc.icb_of_organisations(data))
    dated = (innovations["StageDate"] <= pd.Timestamp(quarter.end)).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero((positions >= 0) & dated)
    ids, _ = kc.codes_of(innovations["InnovationId"].iloc[rows])
    ranks = innovations["Stage"].iloc[rows].map({s: i for i, s in enumerate(INNOVATION_STAGES)}).astype("int64")
    days = innovations["StageDate"].to_numpy(dtype="datetime64[ns]")[rows].astype("int64")
    # _stage_changes' order within each ICB: innovation, date, then the pipeline's stage order.
    order = np.lexsort((ranks.to_numpy(), days, ids, positions[rows]))
    rows, ids, stage_ranks = rows[order], ids[order], ranks.to_numpy()[order]
    icb_rows = positions[rows]
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


# Every ICB's detail frame at once, by per-ICB rule name (helpers.icb_frames; tests/test_icb_frames.py).
ALL_ICB_FRAMES: dict = {}
