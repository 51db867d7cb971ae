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


@dataclass(frozen=True)
class PackSection:
    """One section: ``group`` names its headline KPIs in the scorecard ('' when it shows none of its own)."""

    id: str
    title: str
    tables: tuple[str, ...]
    group: str = ""


PACK_SECTIONS: tuple[PackSection, ...] = (
    PackSection("00_summary", "Summary scorecard", ALL_TABLES),
    PackSection(
        "10_research_activity", "Research activity", ("organisations", "studies", "recruitment"), "Research activity"
    ),
    PackSection(
        "20_participation_equity",
        "Participation and equity",
        ("organisations", "studies", "recruitment", "recruitment_imd", "recruitment_ethnicity"),
        "Participation",
    ),
    PackSection(
        "30_commercial", "Commercial research", ("organisations", "studies", "recruitment", "finance"), "Commercial"
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
