"""Every ICB's detail frames (the frames the sections' tables and charts are drawn from), in one
vectorised pass over a many-ICB folder.

A section's detail tables (:mod:`helpers.section_tables`) are drawn from frames that per-ICB rules
of the ``kpi_*`` modules compute from the pack's data: ``rule(data, quarter, icb, **params)``. For
the packs of a many-ICB folder that is one pass over the same tables per ICB; each rule's
``all_icbs`` counterpart (its module's ``ALL_ICB_FRAMES``) groups the folder's rows by ICB and
gives every ICB's frame at once, in one frame with an ``IcbCode`` column. :func:`frame_of` cuts one
ICB's frame out of it, equal to the rule's own frame for that ICB (values, dtypes, columns and
index: tests/test_icb_frames.py). The folder's cut (:func:`boardpack.extracts.extract_all`) makes
the pass with :func:`frames` and keeps each ICB's frames (:func:`by_icb`); each pack's KPI stage
hands them to its tables (:attr:`helpers.section_tables.TableInputs.given`) instead of computing
them again.

An ICB with no rows in a rule's all-ICB frame gets none from the pass: its pack computes that
frame itself. A rule's ``all_icbs`` leaves out an ICB whose own rule raises, whose frame is empty
(an empty frame's dtypes are the rule's own) or whose frame has another dtype in some column than
the other ICBs' (e.g. a count that is None for that ICB only).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
)
from helpers.quarters import Quarter, parse

log = logging.getLogger("helpers.icb_frames")


def name_of(per_icb: Callable) -> str:
    """A rule's name: ``<kpi module>.<function>``, e.g. ``kpi_activity.new_studies``."""
    return f"{per_icb.__module__.rsplit('.', 1)[-1]}.{per_icb.__name__}"


@dataclass(frozen=True)
class FrameRule:
    """A per-ICB rule a detail frame comes from, and the pack parameters it takes."""

    per_icb: Callable[..., pd.DataFrame]  # (data, quarter, icb, **params) -> the ICB's frame
    params: tuple[str, ...] = ()  # the pack parameters it takes: baseline_quarters, targets

    @property
    def name(self) -> str:
        return name_of(self.per_icb)

    @property
    def all_icbs(self) -> Callable[..., pd.DataFrame] | None:
        """(data, quarter, icbs, **params) -> every ICB's frame, with ``IcbCode`` as first column."""
        module = sys.modules[self.per_icb.__module__]
        return getattr(module, "ALL_ICB_FRAMES", {}).get(self.per_icb.__name__)

    def compute(self, data, quarter, icb: str, **params) -> pd.DataFrame:
        """The ICB's frame computed from ``data`` (``params``: every pack parameter; those it takes are passed)."""
        return self.per_icb(data, quarter, icb, **{p: params[p] for p in self.params})

    def compute_all(self, data, quarter, icbs: Sequence[str], **params) -> pd.DataFrame:
        return self.all_icbs(data, quarter, list(icbs), **{p: params[p] for p in self.params})


RULES: tuple[FrameRule, ...] = (
    FrameRule(kpi_activity.open_studies, ("baseline_quarters",)),
    FrameRule(kpi_activity.open_studies_by_care_setting),
    FrameRule(kpi_activity.open_studies_by_specialty),
    FrameRule(kpi_activity.new_studies),
    FrameRule(kpi_activity.recruiting_organisations),
    FrameRule(kpi_activity.gp_practices_recruiting),
    FrameRule(kpi_participation.participants_per_10k),
    FrameRule(kpi_participation.participants_with_non_portfolio),
    FrameRule(kpi_participation.participants_by_place),
    FrameRule(kpi_participation.participants_by_organisation_type),
    FrameRule(kpi_participation.participants_by_imd_quintile),
    FrameRule(kpi_participation.participants_core20),
    FrameRule(kpi_participation.core20_history),
    FrameRule(kpi_participation.ethnicity_representation),
    FrameRule(kpi_commercial.commercial_income, ("targets",)),
    FrameRule(kpi_commercial.commercial_share_of_open_studies),
    FrameRule(kpi_commercial.commercial_participants),
    FrameRule(kpi_commercial.setup_time_summary),
    FrameRule(kpi_commercial.rtt_summary),
    FrameRule(kpi_partnerships.cross_system_status, ("targets",)),
    FrameRule(kpi_partnerships.cross_system_studies, ("targets",)),
    FrameRule(kpi_partnerships.research_active_staff),
    FrameRule(kpi_partnerships.joint_appointments),
    FrameRule(kpi_partnerships.workforce_by_organisation),
    FrameRule(kpi_innovation.pipeline_by_stage),
    FrameRule(kpi_innovation.stage_movements),
    FrameRule(kpi_innovation.benefits_by_measure),
    FrameRule(kpi_innovation.pharmacy_alignment_benefits),
    FrameRule(kpi_engagement.engagement),
    FrameRule(kpi_deliverables.deliverables_rag),
    FrameRule(kpi_deliverables.deliverables_summary),
)
BY_NAME: dict[str, FrameRule] = {rule.name: rule for rule in RULES}


def rule_of(per_icb: Callable) -> FrameRule:
    try:
        return BY_NAME[name_of(per_icb)]
    except KeyError:
        raise KeyError(f"{name_of(per_icb)} is not a detail-frame rule of helpers.icb_frames.RULES") from None


def frames(data, quarter: str | Quarter, icbs: Sequence[str], **params) -> dict[str, pd.DataFrame]:
    """Rule name -> every ICB of ``icbs``'s frame (``IcbCode`` first), for each rule with an
    ``all_icbs``. ``params``: the pack parameters (``baseline_quarters``, ``targets``). A rule
    that raises ``ValueError`` for the folder (a table it lacks, one ICB's data it cannot use) is
    left out: each pack computes that frame from its own data and fails only where it fails."""
    quarter = parse(quarter)
    out = {}
    for rule in RULES:
        if rule.all_icbs is None:
            continue
        try:
            frame = rule.compute_all(data, quarter, icbs, **params)
        except ValueError as exc:
            log.info("%s: left to each pack (%s: %s)", rule.name, type(exc).__name__, exc)
            continue
        out[rule.name] = frame
    return out


def frame_of(frame: pd.DataFrame, icb: str) -> pd.DataFrame | None:
    """``icb``'s frame from a rule's all-ICB frame, as the rule gives it for ``icb``: its rows
    without ``IcbCode``, indexed 0..n-1 when the rule's index is a plain row number (an unnamed
    index), else with the rule's own index. None when ``icb`` has no rows (its pack computes it)."""
    rows = frame[frame["IcbCode"].to_numpy() == icb]
    if rows.empty:
        return None
    rows = rows.drop(columns="IcbCode")
    if all(name is None for name in rows.index.names):
        rows = rows.reset_index(drop=True)
    return rows.copy()


def by_icb(all_frames: Mapping[str, pd.DataFrame], icbs: Sequence[str]) -> dict[str, dict[str, pd.DataFrame]]:
    """ICB -> rule name -> that ICB's frame (:func:`frame_of`; rules it has no rows for left out)."""
    out: dict[str, dict[str, pd.DataFrame]] = {icb: {} for icb in icbs}
    for name, frame in all_frames.items():
        for icb in icbs:
            one = frame_of(frame, icb)
            if one is not None:
                out[icb][name] = one
    return out
