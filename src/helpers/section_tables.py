"""Every section's detail tables, declared once: the frame each is computed from and how it is shown.

A section's notebook shows its tables by name (:func:`helpers.section.detail_table`) and draws its
charts from the same frames (:func:`helpers.section.detail_frame`); it computes nothing itself. The
build's KPI stage (:mod:`boardpack.kpi_stage`) computes every section's frames and tables once
(:func:`compute_section`) into the section's store (:mod:`helpers.store`), and writes the appendix
from them (:func:`helpers.store.read_appendix`), in the order declared here, which is the order the
notebook shows them. A notebook opened without a store (JupyterLab) computes the one it asks for
with the same declaration (:func:`compute`), so both give identical frames and tables.

A declaration (:class:`Declared`) is a name (the table's appendix file name, ``<name>.csv``), a
function of the section's inputs (:class:`TableInputs`: data, quarter, ICB, targets, baseline
quarters and the section's scorecard rows) returning the frame, and the table shown from it: a
:class:`TableSpec` (caption, columns, the rows shown, footnotes, :func:`helpers.tables.format_table`
options) or a function making the table; ``None`` for a frame that only a chart or sentence uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from helpers import (
    comparison,
    icb_frames,
    kpi_activity,
    kpi_commercial,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
    narrative,
    section as sections,
)
from helpers.kpis import COMPARABLE
from helpers.loading import Data
from helpers.quarters import Quarter
from helpers.tables import Table
from helpers.targets import Target


class DetailTableError(KeyError):
    """A detail table or frame the section does not declare (the message names those it does)."""


@dataclass(frozen=True)
class TableInputs:
    """What a section's tables are computed from (a :class:`helpers.section.Section` has the same names)."""

    id: str  # the section's id
    data: Data
    quarter: Quarter
    icb: str
    targets: Mapping[str, Target]
    baseline_quarters: tuple[str, ...]
    scorecard: pd.DataFrame  # the section's rows of the scorecard (every row for the summary)
    # KPI id -> the section's comparable KPIs among their peers (helpers.comparison; empty: no peer data)
    peers: Mapping[str, Any] = field(default_factory=dict)
    # rule name -> the ICB's frame from its many-ICB folder's one pass (helpers.icb_frames); a rule
    # not here is computed from ``data``
    given: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    """How a table is shown from its frame: :func:`helpers.section.table` of ``rows(frame)``.

    ``caption`` may hold ``{quarter}`` (the quarter's label); ``footnotes`` is a tuple, or a
    function of the frame when a note counts something in it; ``options`` go to
    :func:`helpers.tables.format_table` (units, decimals, rounded_counts, row_units).
    """

    caption: str
    columns: Mapping[str, str] | None = None
    rows: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    footnotes: Sequence[str] | Callable[[pd.DataFrame], Sequence[str]] = ()
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Declared:
    """One named frame of a section and the table shown from it (``None``: a frame for charts only)."""

    name: str
    frame: Callable[[TableInputs], pd.DataFrame]
    table: TableSpec | Callable[[TableInputs, pd.DataFrame], Table] | None = None
    # False: shown by a helper the notebook calls (helpers.peer_views), not by name in the notebook
    in_notebook: bool = True


@dataclass(frozen=True)
class Computed:
    """A declaration computed: its frame and table, or the error computing it raised (``error``)."""

    name: str
    frame: pd.DataFrame | None
    table: Table | None
    error: str = ""


def make_table(declared: Declared, inputs: TableInputs, frame: pd.DataFrame) -> Table | None:
    """The table ``declared`` shows from ``frame`` (None for a frame with no table)."""
    spec = declared.table
    if spec is None:
        return None
    if not isinstance(spec, TableSpec):
        return spec(inputs, frame)
    shown = frame if spec.rows is None else spec.rows(frame)
    notes = spec.footnotes(frame) if callable(spec.footnotes) else spec.footnotes
    return sections.table(
        shown,
        spec.caption.format(quarter=inputs.quarter.label),
        spec.columns,
        name=declared.name,
        **({"footnotes": list(notes)} if notes else {}),
        **dict(spec.options),
    )


def compute(declared: Declared, inputs: TableInputs) -> Computed:
    """``declared``'s frame and table (errors raise: a notebook shows them at its cell)."""
    frame = declared.frame(inputs)
    return Computed(declared.name, frame, make_table(declared, inputs, frame))


def compute_section(inputs: TableInputs) -> dict[str, Computed]:
    """Every declaration of ``inputs.id`` computed, in declared order; one that raises is kept as
    its error (the section's notebook computes it again and fails at its cell, as it always did)."""
    computed: dict[str, Computed] = {}
    for declared in declarations(inputs.id):
        try:
            computed[declared.name] = compute(declared, inputs)
        except Exception as exc:  # noqa: BLE001 - recorded; the notebook raises it where it is shown
            computed[declared.name] = Computed(declared.name, None, None, f"{type(exc).__name__}: {exc}")
    return computed


def declarations(section_id: str) -> tuple[Declared, ...]:
    """The section's declarations in the order its notebook shows them (none for a section the
    helpers do not know, e.g. a project's own notebook)."""
    return SECTION_TABLES.get(section_id, ())


def declared(section_id: str, name: str) -> Declared:
    for entry in declarations(section_id):
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in declarations(section_id)) or "none"
    raise DetailTableError(f"section {section_id} declares no detail table or frame {name!r} (it declares: {known})")


# -- shared shapes ------------------------------------------------------------------------------
def _kpi_frame(i: TableInputs, rule: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """The ICB's frame of ``rule`` (a per-ICB rule of :data:`helpers.icb_frames.RULES`): the one its
    many-ICB folder's pass computed, when given, else computed from the section's data. (A
    notebook's :class:`helpers.section.Section` has no ``given``: it computes.)"""
    found = getattr(i, "given", {}).get(icb_frames.name_of(rule))
    if found is not None:
        return found.copy()  # a declaration may change its frame; two may share one
    return icb_frames.rule_of(rule).compute(
        i.data, i.quarter, i.icb, baseline_quarters=i.baseline_quarters, targets=i.targets
    )


def _last_8_quarters(frame: pd.DataFrame) -> pd.DataFrame:
    return sections.with_quarter_labels(sections.recent(frame))


def _headline(inputs: TableInputs, frame: pd.DataFrame) -> Table:
    return sections.headline_table(inputs)


HEADLINE = Declared("headline_kpis", lambda i: i.scorecard, _headline)


# -- 10 research activity -----------------------------------------------------------------------
def _open_studies(i: TableInputs) -> pd.DataFrame:
    return _kpi_frame(i, kpi_activity.open_studies)


STUDIES_OPEN_FRAME = Declared("studies_open", _open_studies)
RESEARCH_ACTIVITY = (
    Declared(
        "studies_open",
        _open_studies,
        TableSpec(
            "NIHR portfolio studies open to recruitment at any time in the quarter, and open at the quarter's end, "
            "last 8 quarters",
            {
                "Quarter": "Quarter",
                "OpenStudies": "Open at any time in the quarter",
                "PctOfBaseline": "% of pre-Covid baseline",
                "OpenAtQuarterEnd": "Open on the quarter's last day",
            },
            rows=_last_8_quarters,
            footnotes=(
                "A study counts as open in a quarter if it was open to recruitment on any day of it; the pre-Covid "
                "baseline (mean of the 2019/20 quarters) is counted the same way. A study that closed during the "
                "quarter is not open on its last day.",
            ),
        ),
    ),
    Declared(
        "studies_by_care_setting",
        lambda i: sections.readable(_kpi_frame(i, kpi_activity.open_studies_by_care_setting), "CareSetting"),
        TableSpec(
            "NIHR studies open in {quarter} by care setting",
            {"CareSetting": "Care setting", "OpenStudies": "Open studies", "Pct": "Share (%)"},
        ),
    ),
    Declared(
        "studies_by_specialty",
        lambda i: _kpi_frame(i, kpi_activity.open_studies_by_specialty),
        TableSpec(
            "NIHR studies open in {quarter} by managing specialty",
            {"ManagingSpecialty": "Managing specialty", "OpenStudies": "Open studies", "Pct": "Share (%)"},
        ),
    ),
    Declared("new_studies", lambda i: _kpi_frame(i, kpi_activity.new_studies)),
    Declared("recruiting_organisations", lambda i: _kpi_frame(i, kpi_activity.recruiting_organisations)),
    Declared(
        "gp_practices_recruiting",
        lambda i: _kpi_frame(i, kpi_activity.gp_practices_recruiting),
        TableSpec(
            "GP practices recruiting in the rolling 12 months, last 8 quarters",
            {
                "Quarter": "Quarter",
                "GpPractices": "GP practices",
                "RecruitingGpPractices": "Recruiting",
                "PctRecruiting": "Recruiting (%)",
            },
            rows=_last_8_quarters,
        ),
    ),
    HEADLINE,
)


# -- 20 participation and equity ----------------------------------------------------------------
REPRESENTATION_RATIO = {"decimals": {"Representation ratio": 2}, "rounded_counts": True}
SHARES = ["ParticipantPct", "PopulationPct"]


def _by_imd_quintile(i: TableInputs) -> pd.DataFrame:
    return _kpi_frame(i, kpi_participation.participants_by_imd_quintile)


def _by_ethnicity(i: TableInputs) -> pd.DataFrame:
    return _kpi_frame(i, kpi_participation.ethnicity_representation)


def _shares(frame: pd.DataFrame, column: str, left_out: list[str]) -> pd.DataFrame:
    """A representation table's groups (totals and unknowns left out) as shares, for its chart."""
    return sections.percent_to_share(sections.rows_except(frame, column, left_out), SHARES)


PARTICIPATION = (
    Declared(
        "participants_per_10k",
        lambda i: sections.observed(_kpi_frame(i, kpi_participation.participants_per_10k), "Per10000"),
    ),
    Declared(
        "participants",
        lambda i: _kpi_frame(i, kpi_participation.participants_with_non_portfolio),
        TableSpec(
            "Participants recruited, last 8 quarters: NIHR portfolio (the headline) and, apart, not on the NIHR "
            "portfolio",
            {
                "Quarter": "Quarter",
                "Participants": "NIHR portfolio, in the quarter",
                "Rolling12Months": "NIHR portfolio, rolling 12 months",
                "NotPortfolioParticipants": "Not on the NIHR portfolio, in the quarter",
                "NotPortfolioRolling12Months": "Not on the NIHR portfolio, rolling 12 months",
            },
            rows=_last_8_quarters,
            footnotes=(
                "The headline and the rate per 10,000 count NIHR portfolio studies only, as every study KPI does; "
                "recruitment to studies not on the NIHR portfolio is shown here and is in no headline. "
                "Rate per 10,000: ONS mid-2022 ICB population.",
            ),
            options={"rounded_counts": True},
        ),
    ),
    Declared(
        "participants_by_place",
        lambda i: _kpi_frame(i, kpi_participation.participants_by_place),
        TableSpec(
            "NIHR portfolio participants recruited in {quarter} by place",
            {"Place": "Place", "Participants": "Participants", "Pct": "Share (%)"},
            options={"rounded_counts": True},
        ),
    ),
    Declared(
        "participants_by_organisation_type",
        lambda i: sections.readable(
            _kpi_frame(i, kpi_participation.participants_by_organisation_type), "OrganisationType"
        ),
        TableSpec(
            "NIHR portfolio participants recruited in {quarter} by type of organisation",
            {"OrganisationType": "Organisation type", "Participants": "Participants", "Pct": "Share (%)"},
            options={"rounded_counts": True},
        ),
    ),
    Declared(
        "participants_by_imd_quintile",
        _by_imd_quintile,
        TableSpec(
            "Participants by national IMD 2019 quintile (1 = most deprived), rolling 12 months to {quarter}",
            {
                "ImdQuintile": "IMD quintile",
                "Participants": "Participants",
                "ParticipantPct": "Participants (%)",
                "PopulationPct": "Population (%)",
                "RepresentationRatio": "Representation ratio",
            },
            footnotes=(
                "Representation ratio: share of participants / share of the population; 1 = as the population.",
            ),
            options=REPRESENTATION_RATIO,
        ),
    ),
    Declared(
        "imd_quintile_shares", lambda i: _shares(_by_imd_quintile(i), "ImdQuintile", ["Total (known)", "Unknown"])
    ),
    Declared(
        "participants_core20",
        lambda i: _kpi_frame(i, kpi_participation.participants_core20),
        TableSpec(
            "Participants from Core20 areas (national IMD deciles 1-2), rolling 12 months to {quarter}",
            {
                "Group": "Group",
                "Participants": "Participants",
                "ParticipantPct": "Participants (%)",
                "PopulationPct": "Population (%)",
                "RepresentationRatio": "Representation ratio",
            },
            footnotes=(
                "Deprivation and ethnic group count every study (these tables carry no study), not only the NIHR "
                "portfolio. Population shares: ONS mid-2020 by IMD 2019 decile (there is no mid-2022 table by "
                "decile).",
            ),
            options=REPRESENTATION_RATIO,
        ),
    ),
    Declared("core20_history", lambda i: _kpi_frame(i, kpi_participation.core20_history)),
    Declared(
        "participants_by_ethnicity",
        _by_ethnicity,
        TableSpec(
            "Participants by ethnic group against the Census 2021 population, rolling 12 months to {quarter}",
            {
                "EthnicGroup": "Ethnic group",
                "Participants": "Participants",
                "ParticipantPct": "Share of stated (%)",
                "PopulationPct": "Population, Census 2021 (%)",
                "RepresentationRatio": "Representation ratio",
            },
            footnotes=(
                "Representation ratio: share of participants with a stated ethnic group / share of the ICB's "
                "residents (Census 2021, ONS, OGL v3.0); 1 = as the population. Shares and ratios from the "
                "rounded counts; not stated is left out.",
            ),
            options=REPRESENTATION_RATIO,
        ),
    ),
    Declared(
        "ethnic_group_shares", lambda i: _shares(_by_ethnicity(i), "EthnicGroup", ["Total (known)", "Not stated"])
    ),
    HEADLINE,
)


# -- 30 commercial ------------------------------------------------------------------------------
SETUP_TARGET = kpi_commercial.NATIONAL_SETUP_TARGET_DAYS
COMMERCIAL = (
    Declared(
        "commercial_income",
        lambda i: sections.with_dates(
            sections.observed(_kpi_frame(i, kpi_commercial.commercial_income), "Rolling12MonthsGBP")
        ),
        TableSpec(
            "Commercial contract income, last 8 quarters",
            {
                "Quarter": "Quarter",
                "IncomeGBP": "In the quarter",
                "Rolling12MonthsGBP": "Rolling 12 months",
                "TargetGBP": "Trajectory",
            },
            rows=_last_8_quarters,
            options={
                "units": {"In the quarter": "GBP", "Rolling 12 months": "GBP", "Trajectory": "GBP"},
                "decimals": 0,
            },
        ),
    ),
    Declared(
        "commercial_share_of_open_studies",
        lambda i: _kpi_frame(i, kpi_commercial.commercial_share_of_open_studies),
    ),
    Declared(
        "commercial_participants",
        lambda i: _kpi_frame(i, kpi_commercial.commercial_participants),
        TableSpec(
            "Participants in commercial studies, last 8 quarters",
            {
                "Quarter": "Quarter",
                "CommercialParticipants": "Commercial",
                "Participants": "All studies",
                "CommercialPct": "Commercial (%)",
                "CommercialRolling12Months": "Commercial, rolling 12 months",
            },
            rows=_last_8_quarters,
            options={"rounded_counts": True},
        ),
    ),
    Declared(
        "setup_times",
        lambda i: _kpi_frame(i, kpi_commercial.setup_time_summary),
        TableSpec(
            "NCVR set-up time by quarter of first participant (studies costed from 1 October 2022, when NCVR "
            "began), last 8 quarters",
            {
                "Quarter": "Quarter",
                "Studies": "Studies",
                "MedianDays": "Median",
                "LowerQuartileDays": "Lower quartile",
                "UpperQuartileDays": "Upper quartile",
                "MinDays": "Shortest",
                "MaxDays": "Longest",
            },
            rows=_last_8_quarters,
            footnotes=(f"National target: commercial clinical trials set up within {SETUP_TARGET} days.",),
            options={
                "units": {
                    "Median": "days",
                    "Lower quartile": "days",
                    "Upper quartile": "days",
                    "Shortest": "days",
                    "Longest": "days",
                }
            },
        ),
    ),
    Declared(
        "recruitment_to_time_and_target",
        lambda i: sections.with_dates(_kpi_frame(i, kpi_commercial.rtt_summary)),
        TableSpec(
            "Studies on track for recruitment to time and target (RTT >= 0), last 8 quarters",
            {
                "Quarter": "Quarter",
                "StudyRoute": "Route",
                "StudiesAssessed": "Studies assessed",
                "OnTrack": "On track",
                "PctOnTrack": "On track (%)",
            },
            rows=sections.with_quarter_labels,
        ),
    ),
    HEADLINE,
)


# -- 40 partnerships and workforce --------------------------------------------------------------
WORKFORCE_FIGURES = ("ResearchActiveStaff", "JointAppointments")


def _listed(frame: pd.DataFrame) -> pd.DataFrame:
    return sections.without_small_rows(frame, list(WORKFORCE_FIGURES))[0]


def _unlisted_note(frame: pd.DataFrame) -> list[str]:
    unlisted = sections.without_small_rows(frame, list(WORKFORCE_FIGURES))[1]
    return [f"Not listed: {unlisted} organisations whose figures are all 0 or suppressed; the total includes them."]


def _cross_system_status(i: TableInputs) -> pd.DataFrame:
    """Where the cross-system count stands against the plan's rule, as one row (in words:
    :func:`helpers.narrative.cross_system_target_words`)."""
    return _kpi_frame(i, kpi_partnerships.cross_system_status)


def _cross_system_studies(i: TableInputs) -> pd.DataFrame:
    """Cross-system studies for their chart: dated, the cumulative count named as its legend reads."""
    studies = _kpi_frame(i, kpi_partnerships.cross_system_studies)
    return sections.renamed(
        sections.with_dates(studies), {"CumulativeCrossSystemStudies": "Studies opened, cumulative"}
    )


PARTNERSHIPS = (
    Declared("cross_system_status", _cross_system_status),
    Declared("cross_system_studies", _cross_system_studies),
    Declared("research_active_staff", lambda i: _kpi_frame(i, kpi_partnerships.research_active_staff)),
    Declared("joint_appointments", lambda i: _kpi_frame(i, kpi_partnerships.joint_appointments)),
    Declared(
        "workforce_by_organisation",
        lambda i: _kpi_frame(i, kpi_partnerships.workforce_by_organisation),
        TableSpec(
            "Research-active staff and joint appointments by organisation, {quarter}",
            {
                "OrganisationCode": "Code",
                "OrganisationName": "Organisation",
                "ResearchActiveStaff": "Research-active staff",
                "JointAppointments": "Joint appointments",
            },
            rows=_listed,
            footnotes=_unlisted_note,
            options={"rounded_counts": True},
        ),
    ),
    HEADLINE,
)


# -- 50 innovation ------------------------------------------------------------------------------
BENEFIT_COLUMNS = {"BenefitMeasure": "Benefit", "Unit": "Unit", "InQuarter": "In the quarter", "Cumulative": "To date"}
INNOVATION = (
    Declared(
        "innovation_pipeline",
        lambda i: sections.readable(_kpi_frame(i, kpi_innovation.pipeline_by_stage), "Stage"),
        TableSpec("Innovations by stage at the end of {quarter}", {"Stage": "Stage", "Innovations": "Innovations"}),
    ),
    Declared(
        "innovation_stage_changes",
        lambda i: _kpi_frame(i, kpi_innovation.stage_movements),
        TableSpec(
            "Stage changes in {quarter}",
            {
                "InnovationId": "Id",
                "InnovationName": "Innovation",
                "FromStage": "From",
                "ToStage": "To",
                "StageDate": "Date",
            },
            rows=lambda frame: sections.readable(sections.readable(frame, "FromStage"), "ToStage"),
        ),
    ),
    Declared(
        "innovation_benefits",
        lambda i: _kpi_frame(i, kpi_innovation.benefits_by_measure),
        TableSpec(
            "Quantified benefits of innovations, {quarter} and to date",
            BENEFIT_COLUMNS,
            options={"row_units": "Unit"},  # benefits in GBP read by the money rule (£88k)
        ),
    ),
    Declared(
        "pharmacy_alignment_benefits",
        lambda i: _kpi_frame(i, kpi_innovation.pharmacy_alignment_benefits),
        TableSpec(
            "Pharmacy Clinical Trials Alignment Project: benefits, {quarter} and to date",
            BENEFIT_COLUMNS,
            options={"row_units": "Unit"},
        ),
    ),
    HEADLINE,
)


# -- 60 engagement ------------------------------------------------------------------------------
ENGAGEMENT = (
    Declared(
        "engagement",
        lambda i: _kpi_frame(i, kpi_engagement.engagement),
        TableSpec(
            "Engagement and involvement, last 8 quarters",
            {
                "Quarter": "Quarter",
                "ppie_activities": "PPIE activities",
                "ppie_contributors": "PPIE contributors",
                "portal_registrations": "Portal registrations",
                "bpor_registrations": "Be Part of Research registrations",
                "events": "Events",
                "event_attendance": "Event attendance",
            },
            rows=_last_8_quarters,
            options={"rounded_counts": True},
        ),
    ),
    HEADLINE,
)


# -- 70 deliverables ----------------------------------------------------------------------------
def _deliverables(i: TableInputs) -> pd.DataFrame:
    # The plan's words as written; narrative.plan_words marks its network words "(now the RDN)".
    rag = sections.readable(sections.readable(_kpi_frame(i, kpi_deliverables.deliverables_rag), "Rag"), "StatusShown")
    return narrative.with_plan_words(rag, "Deliverable")


DELIVERABLES = (
    Declared(
        "deliverables_by_rag",
        lambda i: sections.readable(_kpi_frame(i, kpi_deliverables.deliverables_summary), "Rag"),
    ),
    Declared(
        "deliverables",
        _deliverables,
        TableSpec(
            "Plan deliverables at {quarter}, most urgent first",
            {
                "DeliverableId": "Id",
                "Deliverable": "Deliverable",
                "Owner": "Owner",
                "DueQuarter": "Due",
                "StatusShown": "Status reported",
                "CompletedQuarter": "Completed",
                "Rag": "RAG",
            },
            rows=lambda frame: sections.with_quarter_labels(
                sections.with_quarter_labels(frame, "DueQuarter"), "CompletedQuarter"
            ),
            footnotes=(
                "RAG: complete; overdue (due before this quarter, not complete); at risk (reported at risk or "
                "delayed); otherwise on track.",
                "Deliverables in the plan's words. The NIHR Research Delivery Network (RDN) replaced the NIHR "
                "Clinical Research Network (CRN) on 1 October 2024.",
                "Completed: the first quarter the deliverable was reported complete; complete, late: completed after "
                "its due quarter.",
            ),
        ),
    ),
)


# -- 80 definitions -----------------------------------------------------------------------------
def _definitions(i: TableInputs) -> pd.DataFrame:
    from helpers.kpis import definitions_table

    return definitions_table(i.targets)


DEFINITIONS = (
    Declared("definitions", _definitions, lambda i, frame: sections.definitions(i)[0]),
    Declared("definitions_charts_and_targets", _definitions, lambda i, frame: sections.definitions(i)[1]),
)


def _peers(kpi_id: str) -> Declared:
    """The peer group of one comparable KPI ranked (``peers_<kpi id>``), when the pack has peer
    data for it; none otherwise (no frame, no table, nothing in the appendix)."""

    def frame(i: TableInputs) -> pd.DataFrame | None:
        found = i.peers.get(kpi_id)
        return None if found is None else found.appendix()

    def table(i: TableInputs, frame: pd.DataFrame | None) -> Table | None:
        found = i.peers.get(kpi_id)
        return None if found is None else comparison.peer_table(found)

    return Declared(f"peers_{kpi_id}", frame, table, in_notebook=False)


def _grid_frame(i: TableInputs) -> pd.DataFrame | None:
    entries = comparison.grid_entries(i.scorecard, i.peers)
    return comparison.grid_frame(entries) if entries else None


def _grid_table(i: TableInputs, frame: pd.DataFrame | None) -> Table | None:
    entries = comparison.grid_entries(i.scorecard, i.peers)
    return comparison.grid_table(entries, i.quarter) if entries else None


PERFORMANCE_GRID = Declared("performance_grid", _grid_frame, _grid_table, in_notebook=False)


def _with_peers(section_id: str, declared: tuple[Declared, ...]) -> tuple[Declared, ...]:
    """The section's tables with its comparable KPIs' peer tables before its headline table."""
    peers = tuple(_peers(k.id) for k in COMPARABLE.values() if k.section == section_id)
    at = declared.index(HEADLINE) if HEADLINE in declared else len(declared)
    return declared[:at] + peers + declared[at:]


SECTION_TABLES: dict[str, tuple[Declared, ...]] = {
    "00_summary": (HEADLINE, PERFORMANCE_GRID, STUDIES_OPEN_FRAME),
    "10_research_activity": _with_peers("10_research_activity", RESEARCH_ACTIVITY),
    "20_participation_equity": _with_peers("20_participation_equity", PARTICIPATION),
    "30_commercial": _with_peers("30_commercial", COMMERCIAL),
    "40_partnerships_workforce": PARTNERSHIPS,
    "50_innovation": INNOVATION,
    "60_engagement": ENGAGEMENT,
    "70_deliverables": DELIVERABLES,
    "80_definitions": DEFINITIONS,
}
