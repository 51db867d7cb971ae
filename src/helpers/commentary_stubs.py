"""Commentary stubs: a starting file per section for the analyst, written by ``boardpack commentary``.

Each stub is ``<commentary dir>/<quarter id>/<section id>.md`` (:func:`helpers.commentary.commentary_path`)
holding one HTML comment: the section's data-driven summary as the pack words it (the scorecard
rows of its KPIs, :mod:`helpers.narrative`, and for a KPI with a target date its projection,
:mod:`helpers.projections`) and a table of the figures an analyst will want to quote (latest
value, changes, target, RAG). HTML comments are the analyst's notes: the pack never shows them, so
an untouched stub shows no commentary; what the analyst writes after the comment is shown.

Stubs never overwrite: a file that exists is kept as it is (:func:`write_stubs` creates each file
exclusively).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import narrative
from helpers.commentary import commentary_path
from helpers.kpis import KPIS
from helpers.pack_sections import PACK_SECTIONS
from helpers.projections import Projection, projection_sentence
from helpers.quarters import Quarter, parse

STUB_MARK = "DRAFT commentary stub"
SUMMARY_SECTION = "00_summary"
FIGURE_COLUMNS = ["KPI", "Latest", "On previous quarter", "On a year earlier", "Target", "RAG"]


@dataclass(frozen=True)
class StubsWritten:
    """What :func:`write_stubs` did: the files it wrote and those it kept because they existed."""

    written: tuple[Path, ...] = ()
    kept: tuple[Path, ...] = ()


@dataclass(frozen=True)
class SectionFacts:
    """What a section's stub says: its summary sentences and its KPIs' scorecard rows."""

    id: str
    title: str
    sentences: tuple[str, ...]
    scorecard: pd.DataFrame = field(repr=False)


def _note_safe(text: str) -> str:
    """Text that cannot close the comment early."""
    return text.replace("-->", "->").replace("<!--", "<!-")


def _cell(text: object) -> str:
    return _note_safe(str(text)).replace("|", "/").replace("\n", " ")


def figures_table(scorecard: pd.DataFrame) -> list[str]:
    """The scorecard rows as a Markdown table of :data:`FIGURE_COLUMNS` (words as the pack shows them)."""
    if scorecard.empty:
        return []
    view = narrative.scorecard_view(scorecard)
    lines = ["| " + " | ".join(FIGURE_COLUMNS) + " |", "|" + "---|" * len(FIGURE_COLUMNS)]
    for _, row in view.iterrows():
        lines.append("| " + " | ".join(_cell(row[c]) for c in FIGURE_COLUMNS) + " |")
    return lines


def section_facts(
    scorecard: pd.DataFrame,
    projections: Mapping[str, Projection] | None = None,
    sections: Iterable[str] | None = None,
) -> list[SectionFacts]:
    """Each section's summary sentences and scorecard rows, in plan order (``sections``: only these).

    The summary section: the overview of every headline KPI, then each KPI off track or slightly
    behind, then every projection. Other sections: a sentence per KPI
    (:func:`helpers.narrative.kpi_sentence`) and the projections of their KPIs."""
    projections = dict(projections or {})
    wanted = None if sections is None else set(sections)
    out = []
    for section in PACK_SECTIONS:
        if wanted is not None and section.id not in wanted:
            continue
        if section.id == SUMMARY_SECTION:
            rows = scorecard
            behind = rows[rows["Rag"].isin(["red", "amber"])] if "Rag" in rows else rows.iloc[0:0]
            sentences = [narrative.scorecard_overview(rows), *narrative.kpi_sentences(behind)]
            kpis = list(projections)
        else:
            ids = [k for k, entry in KPIS.items() if entry.section == section.id]
            rows = scorecard[scorecard["Kpi"].isin(ids)]
            sentences = narrative.kpi_sentences(rows)
            kpis = [k for k in projections if k in ids]
        sentences += [projection_sentence(projections[k]) for k in kpis if projections[k].available]
        out.append(SectionFacts(section.id, section.title, tuple(sentences), rows.reset_index(drop=True)))
    return out


def stub_text(facts: SectionFacts, quarter: str | Quarter, icb: str, source: str) -> str:
    """The stub's Markdown: one HTML comment holding the summary and the figures, then room to write.

    ``source`` says where the figures come from (e.g. "the sample data" or the data folder's name)."""
    quarter = parse(quarter)
    lines = [
        "<!--",
        f"{STUB_MARK}: {facts.title} ({facts.id}), {quarter.label}, {icb}.",
        f"Written by `boardpack commentary` from {source}.",
        "",
        "Everything between these comment marks is a note for you: the pack never shows it, and a file",
        "holding only notes shows no commentary. Write your commentary after the closing mark, in",
        "Markdown (params/commentary/README.md). Check the figures against the built pack before quoting.",
        "",
        "The section's summary, as the pack words it:",
        "",
    ]
    if facts.sentences:
        lines += [f"- {_note_safe(s)}" for s in facts.sentences]
    else:
        lines.append("- (this section shows no headline KPI)")
    table = figures_table(facts.scorecard)
    if table:
        lines += ["", f"Figures to quote ({quarter.label}):", "", *table]
    lines += ["-->", "", ""]
    return "\n".join(lines)


def write_stubs(commentary_dir: str | Path, quarter: str | Quarter, texts: Mapping[str, str]) -> StubsWritten:
    """Write ``texts`` (section id -> Markdown) as ``<commentary_dir>/<quarter id>/<section id>.md``,
    never replacing a file that exists (it is kept, byte for byte, and listed in ``kept``)."""
    written, kept = [], []
    for section_id, text in texts.items():
        path = commentary_path(commentary_dir, quarter, section_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="utf-8", newline="\n") as handle:  # "x": fails if the file exists
                handle.write(text)
        except FileExistsError:
            kept.append(path)
            continue
        written.append(path)
    return StubsWritten(tuple(written), tuple(kept))


def commentary_stubs(
    data,
    quarter: str | Quarter,
    icb: str,
    targets: Mapping,
    baseline_quarters: Iterable[str],
    source: str,
    sections: Iterable[str] | None = None,
) -> dict[str, str]:
    """Section id -> stub Markdown, computed with the helpers the sections use
    (:func:`helpers.section.compute_kpis` for the scorecard, :func:`helpers.projections.kpi_projections`)."""
    from helpers.projections import kpi_projections
    from helpers.section import compute_kpis

    quarter = parse(quarter)
    baseline_quarters = tuple(baseline_quarters)
    kpis = compute_kpis(data, quarter, icb, targets, baseline_quarters)
    projections = kpi_projections(data, quarter, icb, targets, baseline_quarters=baseline_quarters)
    return {
        facts.id: stub_text(facts, quarter, icb, source)
        for facts in section_facts(kpis.scorecard, projections, sections)
    }
