"""The pack's sections in plan order: each one's notebook, title and the tables it reads.

Declared once in :mod:`helpers.pack_sections`; this adds each section's notebook. The tables are
what the cache keys on: changing one input file re-runs exactly the sections whose ``tables``
include it, and :func:`helpers.section.open_section` loads the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers import paths
from helpers.pack_sections import ALL_TABLES, PACK_SECTIONS


@dataclass(frozen=True)
class Section:
    """One section of the pack."""

    id: str
    title: str
    notebook: Path
    tables: tuple[str, ...]
    optional: tuple[str, ...] = ()  # optional tables read when the data folder has them (peer data)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every table the section may read: what its cache and store are keyed on."""
        return self.tables + self.optional


SECTIONS: tuple[Section, ...] = tuple(
    Section(s.id, s.title, paths.NOTEBOOKS_DIR / f"{s.id}.ipynb", s.tables, s.optional) for s in PACK_SECTIONS
)
__all__ = ["ALL_TABLES", "SECTIONS", "Section", "select"]


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
