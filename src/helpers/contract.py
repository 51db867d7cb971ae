"""The data contract as code: every input table, its columns and their rules.

``docs/data_contract.md`` is the readable statement of the same contract. Each table is described
once, as a :class:`Table` of :class:`Column` facts; the pandera schemas in :data:`SCHEMAS` are
built from those facts and describe the *typed* frames that :func:`helpers.loading.load_data`
returns:

- codes, ids, names, categories and quarter ids: pandas string dtype (:data:`TEXT_DTYPE`);
- dates and months: ``datetime64[ns]`` (months on the first of the month; ``NaT`` for blank);
- quarters: the quarter id string, e.g. ``2026-27-Q2``;
- booleans: ``bool``; counts of people and other required whole numbers: ``int64``;
- optional whole numbers (``SampleSize``) and ``ImdDecile``: nullable ``Int64``;
- money and other values: ``float64``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

# pandas 3's default string dtype (what ``dtype=str`` gives): missing values are NaN.
TEXT_DTYPE = pd.StringDtype(na_value=np.nan)

Kind = Literal["code", "text", "category", "bool", "date", "month", "quarter", "count", "number", "decile"]

# Foreign-key target meaning "one of the 42 ICB ODS codes shipped in reference_data".
ICB_REFERENCE = "reference:icb"


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind`` says how the column is read: ``code`` (an identifier, kept as text), ``text``,
    ``category`` (one of ``allowed``), ``bool``, ``date``, ``month``, ``quarter``, ``count`` (a
    whole number >= 0), ``number`` (a number >= 0) or ``decile`` (1-10 or blank).
    """

    name: str
    kind: Kind
    required: bool = True
    allowed: tuple[str, ...] = ()
    people: bool = False  # a count of people: disclosure control applies
    future_allowed: bool = False  # plans and due dates may lie after the quarter reported
    references: str | None = None  # "table.Column" that must hold every value, or ICB_REFERENCE
    may_be_absent: bool = False  # an optional column: a file may leave it out (loaded as all blank)


@dataclass(frozen=True)
class Table:
    """One input table: its columns in order and its key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False  # a data folder may leave the table out (see OPTIONAL_TABLES)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def of_kind(self, *kinds: Kind) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind in kinds)

    @property
    def people_counts(self) -> tuple[str, ...]:
        """Columns that count people (disclosure control applies)."""
        return tuple(c.name for c in self.columns if c.people)

    @property
    def date_columns(self) -> tuple[str, ...]:
        return self.of_kind("date")

    @property
    def month_columns(self) -> tuple[str, ...]:
        return self.of_kind("month")

    @property
    def quarter_columns(self) -> tuple[str, ...]:
        return self.of_kind("quarter")


ORGANISATION_TYPES = (
    "acute",
    "mental_health_community",
    "ambulance",
    "gp_practice",
    "local_authority",
    "hospice",
    "care_home",
    "university",
    "other",
)
STUDY_ROUTES = ("Commercial", "Non-commercial")
# CPMS records whether a study is interventional (a trial), observational or both.
STUDY_DESIGNS = ("Interventional", "Observational", "Both")
CARE_SETTINGS = ("acute", "primary_care", "community", "mental_health", "social_care", "public_health")
ETHNIC_GROUPS = ("Asian", "Black", "Mixed", "White", "Other", "Not stated")
INCOME_STREAMS = ("commercial_contract", "nihr_infrastructure", "grants", "other")
INNOVATION_STAGES = ("identified", "assessed", "piloting", "adopting", "business_as_usual", "stopped")
BENEFIT_UNITS = ("GBP", "hours", "days", "patients", "count")
ENGAGEMENT_MEASURES = (
    "ppie_activities",
    "ppie_contributors",
    "portal_registrations",
    "bpor_registrations",
    "events",
    "event_attendance",
)
# engagement.Value counts people only for these measures (disclosure control applies to them).
PEOPLE_COUNT_MEASURES = ("ppie_contributors", "portal_registrations", "bpor_registrations", "event_attendance")
DELIVERABLE_STATUSES = ("not_started", "on_track", "at_risk", "delayed", "complete")

ORGANISATION_CODE = "organisations.OrganisationCode"
# The KPIs compared with other ICBs: helpers.kpis.COMPARABLE (a test keeps the two equal; the
# contract does not import the KPI registry, which imports the KPI helpers).
COMPARABLE_KPIS = (
    "gp_practices_recruiting_pct",
    "participants_per_10k",
    "core20_pct",
    "commercial_pct_open_studies",
    "rtt_pct_on_track",
)

_TABLE_LIST = (
    Table(
        "organisations",
        (
            Column("OrganisationCode", "code"),
            Column("OrganisationName", "text"),
            Column("OrganisationType", "category", allowed=ORGANISATION_TYPES),
            Column("Place", "text"),
            Column("IcbCode", "code", references=ICB_REFERENCE),
        ),
        key=("OrganisationCode",),
    ),
    Table(
        "studies",
        (
            Column("StudyId", "code"),
            Column("StudyTitle", "text"),
            Column("StudyRoute", "category", allowed=STUDY_ROUTES),
            Column("StudyStatus", "text"),
            Column("ManagingSpecialty", "text"),
            Column("CareSetting", "category", allowed=CARE_SETTINGS),
            Column("NihrPortfolio", "bool"),
            Column("LeadOrganisationCode", "code", references=ORGANISATION_CODE),
            Column("CrossSystemPartnership", "bool"),
            Column("PlannedOpeningDate", "date", required=False, future_allowed=True),
            Column("ActualOpeningDate", "date", required=False),
            Column("PlannedClosureToRecruitmentDate", "date", required=False, future_allowed=True),
            Column("ActualClosureToRecruitmentDate", "date", required=False),
            Column("SampleSize", "count", required=False),
            Column("CostingSubmittedDate", "date", required=False),
            Column("SiteSelectedDate", "date", required=False),
            Column("FirstParticipantDate", "date", required=False),
            Column("StudyDesign", "category", required=False, allowed=STUDY_DESIGNS, may_be_absent=True),
        ),
        key=("StudyId",),
    ),
    Table(
        "recruitment",
        (
            Column("StudyId", "code", references="studies.StudyId"),
            Column("OrganisationCode", "code", references=ORGANISATION_CODE),
            Column("Month", "month"),
            Column("Participants", "count", people=True),
        ),
        key=("StudyId", "OrganisationCode", "Month"),
    ),
    Table(
        "recruitment_imd",
        (
            Column("IcbCode", "code", references=ICB_REFERENCE),
            Column("Month", "month"),
            # Blank means "deprivation decile unknown"; the column itself must be present.
            Column("ImdDecile", "decile", required=False),
            Column("Participants", "count", people=True),
        ),
        key=("IcbCode", "Month", "ImdDecile"),
    ),
    Table(
        "recruitment_ethnicity",
        (
            Column("IcbCode", "code", references=ICB_REFERENCE),
            Column("Month", "month"),
            Column("EthnicGroup", "category", allowed=ETHNIC_GROUPS),
            Column("Participants", "count", people=True),
        ),
        key=("IcbCode", "Month", "EthnicGroup"),
    ),
    Table(
        "finance",
        (
            Column("Quarter", "quarter"),
            Column("OrganisationCode", "code", references=ORGANISATION_CODE),
            Column("IncomeStream", "category", allowed=INCOME_STREAMS),
            Column("AmountGBP", "number"),
        ),
        key=("Quarter", "OrganisationCode", "IncomeStream"),
    ),
    Table(
        "workforce",
        (
            Column("Quarter", "quarter"),
            Column("OrganisationCode", "code", references=ORGANISATION_CODE),
            Column("ResearchActiveStaff", "count", people=True),
            Column("JointAppointments", "count", people=True),
        ),
        key=("Quarter", "OrganisationCode"),
    ),
    Table(
        "innovations",
        (
            Column("InnovationId", "code"),
            Column("InnovationName", "text"),
            Column("Stage", "category", allowed=INNOVATION_STAGES),
            Column("StageDate", "date"),
            Column("LeadOrganisationCode", "code", references=ORGANISATION_CODE),
        ),
        key=("InnovationId", "Stage"),
    ),
    Table(
        "innovation_benefits",
        (
            Column("Quarter", "quarter"),
            Column("InnovationId", "code", references="innovations.InnovationId"),
            Column("BenefitMeasure", "text"),
            Column("Unit", "category", allowed=BENEFIT_UNITS),
            Column("Value", "number"),
        ),
        key=("Quarter", "InnovationId", "BenefitMeasure"),
    ),
    Table(
        "engagement",
        (
            Column("IcbCode", "code", references=ICB_REFERENCE),
            Column("Quarter", "quarter"),
            Column("Measure", "category", allowed=ENGAGEMENT_MEASURES),
            Column("Value", "count"),
        ),
        key=("IcbCode", "Quarter", "Measure"),
    ),
    Table(
        "deliverables",
        (
            Column("IcbCode", "code", references=ICB_REFERENCE),
            Column("DeliverableId", "code"),
            Column("Deliverable", "text"),
            Column("Owner", "text"),
            Column("DueQuarter", "quarter", future_allowed=True),
            Column("Quarter", "quarter"),
            Column("Status", "category", allowed=DELIVERABLE_STATUSES),
        ),
        key=("IcbCode", "DeliverableId", "Quarter"),
    ),
    # Peer data for an ICB's own extract (docs/benchmarking.md): each ICB's numerator and
    # denominator of each comparable KPI, as `boardpack benchmarks` writes them from a national folder.
    Table(
        "benchmarks",
        (
            Column("IcbCode", "code", references=ICB_REFERENCE),
            Column("Quarter", "quarter"),
            Column("Kpi", "category", allowed=COMPARABLE_KPIS),
            Column("Numerator", "count"),
            Column("Denominator", "count"),
        ),
        key=("IcbCode", "Quarter", "Kpi"),
        optional=True,
    ),
)

# Every table of the contract, in the order they are read (parents first).
CONTRACT: dict[str, Table] = {t.name: t for t in _TABLE_LIST}
# The tables every data folder holds and the sections read (the cache keys hash their files).
TABLES: tuple[str, ...] = tuple(name for name, t in CONTRACT.items() if not t.optional)
# Tables a data folder may leave out: read and checked when their file is present. No section
# reads them yet, so they are not in TABLES (nor in any section's tables or cache key).
OPTIONAL_TABLES: tuple[str, ...] = tuple(name for name, t in CONTRACT.items() if t.optional)

# Tables whose rows are dated by month or quarter: their history must reach the quarter reported.
PERIODIC_TABLES = (
    "recruitment",
    "recruitment_imd",
    "recruitment_ethnicity",
    "finance",
    "workforce",
    "engagement",
    "deliverables",
)

# pandera lists at most this many failing rows per check: enough to report, and quick on huge files.
FAILURE_CASES_CAP = 10_000


def typed_dtype(column: Column) -> str | pd.api.extensions.ExtensionDtype:
    """The dtype a column has in a loaded (typed) frame."""
    if column.kind in ("code", "text", "category", "quarter"):
        return TEXT_DTYPE
    if column.kind == "bool":
        return "bool"
    if column.kind in ("date", "month"):
        return "datetime64[ns]"
    if column.kind == "count":
        return "int64" if column.required else "Int64"
    if column.kind == "decile":
        return "Int64"
    return "float64"


def _checks(column: Column) -> list[pa.Check]:
    """The value rules; each ``error`` is the message checks.py shows for a failing row."""
    cap = {"n_failure_cases": FAILURE_CASES_CAP}
    if column.kind == "category":
        return [pa.Check.isin(column.allowed, error=f"must be one of: {', '.join(column.allowed)}", **cap)]
    if column.kind in ("count", "number"):
        return [pa.Check.ge(0, error="must be 0 or more", **cap)]
    if column.kind == "decile":
        return [pa.Check.in_range(1, 10, error="must be a whole number from 1 to 10 (or blank for unknown)", **cap)]
    if column.kind == "month":
        return [
            pa.Check(
                lambda s: s.isna() | (s.dt.day == 1),
                element_wise=False,
                error="must be the first day of a month",
                **cap,
            )
        ]
    if column.kind == "quarter":
        return [pa.Check.str_matches(r"^\d{4}-\d{2}-Q[1-4]$", error="must be a quarter id like 2026-27-Q2", **cap)]
    return []


def _schema(table: Table, with_dtypes: bool) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(
                typed_dtype(c) if with_dtypes else None,
                _checks(c),
                # While loading, blanks in required columns are reported by checks.py (fast on huge files).
                nullable=not with_dtypes or not c.required or c.kind == "decile",
                # Typed frames always have every column; a file may leave out an optional one.
                required=with_dtypes or not c.may_be_absent,
            )
            for c in table.columns
        },
        name=table.name,
        strict=with_dtypes,
        ordered=with_dtypes,
    )


# The typed frames' schemas (dtypes and value rules).
SCHEMAS: dict[str, pa.DataFrameSchema] = {name: _schema(t, with_dtypes=True) for name, t in CONTRACT.items()}
# The same value rules without dtypes or required-ness: used while loading, before blanks are cast away.
VALUE_SCHEMAS: dict[str, pa.DataFrameSchema] = {name: _schema(t, with_dtypes=False) for name, t in CONTRACT.items()}
