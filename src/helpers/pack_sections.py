"""The pack's sections in plan order: id, title, the tables each reads and its scorecard group.

The one place a section's inputs are declared: the build keys each section's cache on these tables
(:mod:`boardpack.sections`), :func:`helpers.section.open_section` loads them, and the KPI registry
(:mod:`helpers.kpis`) groups the scorecard by these sections. Plain data: the command line reads it
without importing pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every table of the data contract (helpers.contract.TABLES, which imports pandas; a test keeps them equal).
ALL_TABLES: tuple[str, ...] = (
    "organisations",
    "studies",
    "recruitment",
    "recruitment_imd",
    "recruitment_ethnicity",
    "finance",
    "workforce",
    "innovations",
    "innovation_benefits",
    "engagement",
    "deliverables",
)


# The optional tables of the contract (helpers.contract.OPTIONAL_TABLES; a test keeps them equal):
# peer data, read by the sections that compare KPIs with other ICBs.
PEER_TABLES: tuple[str, ...] = ("benchmarks",)


@dataclass(frozen=True)
class PackSection:
    """One section: ``group`` names its headline KPIs in the scorecard ('' when it shows none of its own)."""

    id: str
    title: str
    tables: tuple[str, ...]
    group: str = ""
    optional: tuple[str, ...] = ()  # optional tables (helpers.contract.OPTIONAL_TABLES) read when present


PACK_SECTIONS: tuple[PackSection, ...] = (
    PackSection("00_summary", "Summary scorecard", ALL_TABLES, optional=PEER_TABLES),
    PackSection(
        "10_research_activity",
        "Research activity",
        ("organisations", "studies", "recruitment"),
        "Research activity",
        optional=PEER_TABLES,
    ),
    PackSection(
        "20_participation_equity",
        "Participation and equity",
        ("organisations", "studies", "recruitment", "recruitment_imd", "recruitment_ethnicity"),
        "Participation",
        optional=PEER_TABLES,
    ),
    PackSection(
        "30_commercial",
        "Commercial research",
        ("organisations", "studies", "recruitment", "finance"),
        "Commercial",
        optional=PEER_TABLES,
    ),
    PackSection(
        "40_partnerships_workforce",
        "Partnerships and workforce",
        ("organisations", "studies", "workforce", "finance"),
        "Partnerships and workforce",
    ),
    PackSection(
        "50_innovation", "Innovation adoption", ("organisations", "innovations", "innovation_benefits"), "Innovation"
    ),
    PackSection("60_engagement", "Engagement and involvement", ("engagement",), "Engagement"),
    PackSection("70_deliverables", "Deliverables", ("deliverables",), "Deliverables"),
    PackSection("80_definitions", "Definitions", ()),
)
BY_ID: dict[str, PackSection] = {s.id: s for s in PACK_SECTIONS}


def tables_of(section_id: str) -> tuple[str, ...]:
    """The tables ``section_id`` reads (ValueError naming the sections there are)."""
    if section_id not in BY_ID:
        raise ValueError(f"unknown section {section_id!r}: one of {', '.join(BY_ID)}")
    return BY_ID[section_id].tables


def optional_tables_of(section_id: str) -> tuple[str, ...]:
    """The optional tables ``section_id`` reads when the data folder has them."""
    tables_of(section_id)  # an unknown section is an error naming the sections there are
    return BY_ID[section_id].optional
