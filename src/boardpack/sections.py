"""The pack's sections in plan order: notebook, title and the input tables each one reads.

The tables listed are what the cache keys on: changing one input file re-runs exactly the sections
whose ``tables`` include it. Keep them in step with the notebooks' ``load_data(..., tables=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers import paths

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
class Section:
    """One section of the pack."""

    id: str
    title: str
    notebook: Path
    tables: tuple[str, ...]


def _nb(name: str) -> Path:
    return paths.NOTEBOOKS_DIR / f"{name}.ipynb"


SECTIONS: tuple[Section, ...] = (
    Section("00_summary", "Summary scorecard", _nb("00_summary"), ALL_TABLES),
    Section(
        "10_research_activity",
        "Research activity",
        _nb("10_research_activity"),
        ("organisations", "studies", "recruitment"),
    ),
    Section(
        "20_participation_equity",
        "Participation and equity",
        _nb("20_participation_equity"),
        ("organisations", "studies", "recruitment", "recruitment_imd", "recruitment_ethnicity"),
    ),
    Section(
        "30_commercial",
        "Commercial research",
        _nb("30_commercial"),
        ("organisations", "studies", "recruitment", "finance"),
    ),
    Section(
        "40_partnerships_workforce",
        "Partnerships and workforce",
        _nb("40_partnerships_workforce"),
        ("organisations", "studies", "workforce", "finance"),
    ),
    Section(
        "50_innovation",
        "Innovation adoption",
        _nb("50_innovation"),
        ("organisations", "innovations", "innovation_benefits"),
    ),
    Section("60_engagement", "Engagement and involvement", _nb("60_engagement"), ("engagement",)),
    Section("70_deliverables", "Deliverables", _nb("70_deliverables"), ("deliverables",)),
    Section("80_definitions", "Definitions", _nb("80_definitions"), ()),
)


def select(ids: list[str] | None, registry: tuple[Section, ...] = SECTIONS) -> list[Section]:
    """The sections named (by id, or by the id without its number, e.g. 'commercial'), in plan order."""
    if not ids:
        return list(registry)
    by_name = {s.id: s for s in registry} | {s.id.split("_", 1)[1]: s for s in registry}
    unknown = [i for i in ids if i not in by_name]
    if unknown:
        raise ValueError(
            f"unknown section(s) {', '.join(map(repr, unknown))}: choose from {', '.join(s.id for s in registry)}"
        )
    wanted = {by_name[i].id for i in ids}
    return [s for s in registry if s.id in wanted]
