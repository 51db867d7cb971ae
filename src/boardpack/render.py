"""Turn executed section notebooks into the pack: one self-contained HTML file, a PDF, an appendix.

The appendix is written from the section stores' table records (:func:`store_tables`: the KPI
stage's tables, :mod:`helpers.section_tables`), not from the notebooks' outputs.

Sections are merged into one notebook (cover, contents, sections in plan order) and exported once
with nbconvert: no inputs, no prompts, no papermill cells, no script, nothing fetched from the
network, alt text from each figure's output metadata. The PDF goes HTML -> typst (pandoc from the
pypandoc-binary wheel) -> PDF (the typst wheel), all offline.
"""

from __future__ import annotations

import copy
import csv
import html
import io
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter  # at import: workers preload this module (build.WARM_MODULES)
from traitlets.config import Config

from helpers.tables import neutralise_formula

# The appendix records notebooks once carried in their outputs; a notebook that still shows one
# (a project's own) keeps it out of the pack: the appendix comes from the section stores.
TABLE_MIMETYPE = "application/vnd.boardpack.table+json"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DROPPED_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag", "remove-cell"}
NBCONVERT_PLACEHOLDER_ALT = "No description has been provided for this image"
FIGURE_MIMETYPES = ("image/png", "image/jpeg", "image/svg+xml")
_HEADING = re.compile(r"^(#{1,6})(\s+.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_EXTERNAL_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


class RenderError(RuntimeError):
    """The pack cannot be rendered safely (e.g. a figure without alt text)."""


@dataclass(frozen=True)
class Cover:
    """What the cover says."""

    icb_code: str
    icb_name: str
    quarter: str
    built_on: str  # date the pack was built, e.g. '2026-11-22'
    sample_data: bool
    data_line: str = ""  # e.g. 'data to 30 Sep 2026, extracted 14 Oct 2026' (helpers.freshness.cover_line)


@dataclass(frozen=True)
class SectionNotebook:
    """One executed section, ready to merge."""

    id: str
    title: str
    notebook: nbformat.NotebookNode


# -- tables ------------------------------------------------------------------------------------
def store_tables(stores: Iterable[tuple[str, str | Path]]) -> list[tuple[str, dict[str, Any]]]:
    """(section id, table record) of every detail table in the sections' stores ((section id, store
    folder) in plan order), each section's in the order it shows them: the appendix's tables, as the
    KPI stage computed them (:mod:`helpers.section_tables`)."""
    from helpers import store

    return [(section_id, record) for section_id, folder in stores for record in store.read_appendix(folder)]


def _safe_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_") or "table"
    candidate, n = base, 2
    while candidate.lower() in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate.lower())
    return candidate


def _without_float_noise(value: Any) -> Any:
    """A float at 15 significant digits (848377.4500000001 -> 848377.45), as a belt to the braces of
    helpers.tables, which rounds every table's numbers as shown; anything else unchanged."""
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return float(f"{value:.15g}")
    return value


def write_appendix(tables: Iterable[tuple[str, dict[str, Any]]], folder: Path) -> list[Path]:
    """One CSV per table and one XLSX (a sheet per table); returns the files written."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    workbook.remove(workbook.active)
    written: list[Path] = []
    used: set[str] = set()
    sheet_names: set[str] = set()
    for section_id, table in tables:
        name = _safe_name(table.get("name") or f"{section_id}_table", used)
        columns = [neutralise_formula(str(c)) for c in table.get("columns", [])]
        rows = [[neutralise_formula(_without_float_noise(v)) for v in row] for row in table.get("rows", [])]
        path = folder / f"{name}.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        written.append(path)
        sheet_title = name[:31]
        n = 2
        while sheet_title.lower() in sheet_names:
            suffix = f"_{n}"
            sheet_title, n = name[: 31 - len(suffix)] + suffix, n + 1
        sheet_names.add(sheet_title.lower())
        sheet = workbook.create_sheet(sheet_title)
        if table.get("title"):
            sheet.append([neutralise_formula(str(table["title"]))])
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
        if table.get("footnotes"):
            sheet.append([])
            for note in table["footnotes"]:
                sheet.append([neutralise_formula(str(note))])
    if written:
        xlsx = folder / "tables.xlsx"
        workbook.save(xlsx)
        _fix_xlsx_timestamps(xlsx)
        written.append(xlsx)
    return written


def _fix_xlsx_timestamps(path: Path) -> None:
    # openpyxl stamps the creation time into docProps/core.xml; zip entries carry times too.
    import zipfile

    with zipfile.ZipFile(path) as source:
        items = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"<dcterms:(created|modified)([^>]*)>[^<]*<", rb"<dcterms:\1\2>2000-01-01T00:00:00Z<", data
                )
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


# -- merging -----------------------------------------------------------------------------------
def _shift_headings(source: str, shift: int) -> str:
    lines, fenced = [], False
    for line in source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            level = min(6, max(1, len(match[1]) + shift))
            line = "#" * level + match[2]
        lines.append(line)
    return "\n".join(lines)


def _heading_levels(cells: list) -> list[int]:
    levels = []
    for cell in cells:
        if cell.cell_type == "markdown":
            fenced = False
            for line in cell.source.split("\n"):
                if _FENCE.match(line):
                    fenced = not fenced
                elif not fenced and (m := _HEADING.match(line)):
                    levels.append(len(m[1]))
    return levels


def _drop_repeated_title(cells: list, title: str) -> None:
    """Remove the notebook's own first heading when it repeats the section title (we add an h2)."""
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if line.strip():
                m = _HEADING.match(line)
                if m and m[2].strip().lower() == title.strip().lower():
                    cell.source = "\n".join(lines[:i] + lines[i + 1 :]).strip("\n")
                return
        return


def _pack_cells(section: SectionNotebook) -> list:
    cells = []
    for cell in copy.deepcopy(section.notebook.cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & DROPPED_TAGS:
            continue
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue  # warnings belong in the build log, not the board pack
                if "data" in out:
                    out["data"] = {k: v for k, v in out["data"].items() if k != TABLE_MIMETYPE}
                    if not out["data"]:
                        continue
                outputs.append(out)
            if not outputs:
                continue
            cell.outputs = outputs
            cell.source = ""  # nothing of the code reaches the pack, not even hidden
        elif cell.cell_type == "raw":
            continue
        cells.append(cell)
    _drop_repeated_title(cells, section.title)
    levels = _heading_levels(cells)
    shift = 3 - min(levels) if levels else 0
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = _shift_headings(cell.source, shift)
    return cells


def check_alt_text(section: SectionNotebook) -> None:
    """Every figure must carry alt text in its output metadata (helpers.charts sets it)."""
    for index, cell in enumerate(section.notebook.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for mime in FIGURE_MIMETYPES:
                if mime in out.get("data", {}):
                    meta = out.get("metadata", {})
                    alt = (meta.get(mime) or {}).get("alt") or meta.get("alt")
                    if not alt or not str(alt).strip():
                        raise RenderError(
                            f"section {section.id}, cell {index}: a figure ({mime}) has no alt text; "
                            "show charts with helpers.charts, which sets output metadata {'image/png': {'alt': ...}}"
                        )


def merge(cover: Cover, sections: list[SectionNotebook]) -> nbformat.NotebookNode:
    """One notebook: cover, contents, then each section under its own h2, with fixed cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "title": f"R&I board pack: {cover.icb_name}, {cover.quarter}",
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    banner = (
        '<p class="bp-sample" role="note">SAMPLE DATA: these figures are synthetic, for demonstration only.</p>\n'
        if cover.sample_data
        else ""
    )
    contents = "\n".join(f'<li><a href="#section-{s.id}">{html.escape(s.title)}</a></li>' for s in sections)
    cover_html = (
        '<header class="bp-cover">\n'
        f'<h1 id="cover">Research and innovation board pack</h1>\n'
        f'<p class="bp-meta">{html.escape(cover.icb_name)} ({html.escape(cover.icb_code)})</p>\n'
        f'<p class="bp-meta">Quarter: {html.escape(cover.quarter)}. Built on {html.escape(cover.built_on)}.</p>\n'
        + (f'<p class="bp-meta">Data: {html.escape(cover.data_line)}.</p>\n' if cover.data_line else "")
        + f"{banner}</header>\n"
        '<nav aria-labelledby="contents">\n<h2 id="contents">Contents</h2>\n'
        f"<ol>\n{contents}\n</ol>\n</nav>"
    )
    cells = [nbformat.v4.new_markdown_cell(cover_html)]
    cells[0].id = "cover"
    for section in sections:
        heading = nbformat.v4.new_markdown_cell(
            f'<h2 id="section-{section.id}" class="bp-section-heading">{html.escape(section.title)}</h2>'
        )
        heading.id = f"{section.id}-heading"
        cells.append(heading)
        for n, cell in enumerate(_pack_cells(section)):
            cell.id = f"{section.id}-{n}"
            cells.append(cell)
    nb.cells = cells
    return nb


# -- HTML --------------------------------------------------------------------------------------
def render_html(nb: nbformat.NotebookNode) -> str:
    """Export the merged notebook to one self-contained HTML document."""

    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.exclude_anchor_links = True
    config.HTMLExporter.embed_images = True
    # Belt and braces: even if a block were reintroduced, nothing would point off the machine.
    config.HTMLExporter.require_js_url = ""
    config.HTMLExporter.mathjax_url = ""
    exporter = HTMLExporter(config=config, template_name="boardpack", extra_template_basedirs=[str(TEMPLATES_DIR)])
    resources = {
        "metadata": {"name": nb.metadata.get("title", "Board pack")},
        "boardpack_css": (TEMPLATES_DIR / "boardpack" / "pack.css").read_text(encoding="utf-8"),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    document = sanitise(body, lang="en-GB")
    _check_images(document)
    return document


def _check_images(document: str) -> None:
    """Every image in the pack has real alt text (nbconvert fills a placeholder when it is missing)."""
    from bs4 import BeautifulSoup

    for img in BeautifulSoup(document, features="html.parser").find_all("img"):
        alt = (img.get("alt") or "").strip()
        if not alt or alt == NBCONVERT_PLACEHOLDER_ALT:
            raise RenderError(
                f"an image in the pack has no alt text (near {str(img)[:120]!r}); show charts with helpers.charts"
            )


def sanitise(document: str, lang: str = "en-GB") -> str:
    """Remove anything that could run or fetch: scripts, on* handlers, external or javascript: URLs.

    Also sets the document language (nbconvert accepts only two-letter codes) and drops CSS
    comments (JupyterLab's carry URLs).
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(document, features="html.parser")
    if soup.html is not None:
        soup.html["lang"] = lang
    for style in soup.find_all("style"):
        style.string = _CSS_COMMENT.sub("", style.get_text())
    for tag in soup.find_all(["script", "iframe", "object", "embed", "link", "base", "form"]):
        tag.decompose()
    for tag in soup.find_all(True):
        for attr in list(tag.attrs):
            value = tag.attrs[attr]
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on") or attr.lower() in ("srcdoc", "formaction"):
                del tag.attrs[attr]
            elif attr.lower() in ("src", "href", "xlink:href", "action", "poster", "background"):
                if text.startswith("data:image/") and attr.lower() == "src":
                    continue
                if _EXTERNAL_URL.match(text):
                    if tag.name == "a":
                        # keep the words, show where the link went, fetch nothing
                        tag.attrs.pop(attr)
                        if text.lower().startswith(("http:", "https:")):
                            tag.append(f" ({text})")
                    else:
                        del tag.attrs[attr]
    return str(soup)


def write_html(nb: nbformat.NotebookNode, path: Path) -> str:
    document = render_html(nb)
    path.write_text(document, encoding="utf-8")
    return document


# -- PDF ---------------------------------------------------------------------------------------
_TYPST_HEADER = """
#set text(lang: "en", region: "gb", size: 9.5pt)
#set page(paper: "a4", margin: 15mm)
#set par(justify: false)
#set table(inset: (x: 3pt, y: 2pt))
#show table: set text(size: 8pt, hyphenate: false)
#show table: set par(justify: false)
#show figure: set block(breakable: true)
#show heading: set block(sticky: true)
"""
# Page layout in the printed pack: _printable marks where pages turn with a paragraph holding one
# of these words, which write_pdf swaps for typst's page commands (HTML has no such element).
# The cover and contents fill page 1; each section starts a page; the summary's first page (its
# changes, exceptions and scorecard) is landscape A4, so the scorecard's rows stay short.
_PAGE_MARKS = {
    "BOARDPACKPAGEBREAK": "#pagebreak(weak: true)",
    "BOARDPACKLANDSCAPE": "#set page(flipped: true, margin: (x: 12mm, y: 10mm))\n#set text(size: 8.5pt)",
    "BOARDPACKPORTRAIT": "#set page(flipped: false, margin: 15mm)\n#set text(size: 9.5pt)",
}
_PAGE_MARK_LINE = re.compile(r"^(" + "|".join(_PAGE_MARKS) + r")$", re.MULTILINE)
_FIRST_PAGE_TABLE = "Headline KPIs of the plan"  # the summary's scorecard: its first page ends after it


def write_pdf(document: str, path: Path) -> None:
    """HTML -> typst (pandoc) -> PDF (typst), offline; inline images written to a temporary folder."""
    path.write_bytes(_typeset(document, "pdf"))


def pdf_page_images(document: str, ppi: int = 96) -> list[bytes]:
    """The printed pack's pages as PNG images, typeset exactly as :func:`write_pdf` typesets them
    (for screenshots of the PDF: nothing here rasterises a PDF)."""
    return _typeset(document, "png", ppi=ppi)


def _typeset(document: str, output: str, **options):
    import pypandoc
    import typst

    with tempfile.TemporaryDirectory(prefix="boardpack-pdf-") as tmp:
        work = Path(tmp)
        (work / "header.typ").write_text(_TYPST_HEADER, encoding="utf-8")
        # pandoc's template only reads the margins as a map (a --variable margin.x is ignored).
        (work / "page.yaml").write_text("margin:\n  x: 15mm\n  y: 15mm\n", encoding="utf-8")
        source = work / "pack.typ"
        pypandoc.convert_text(
            _printable(document, work),
            "typst",
            format="html",
            outputfile=str(source),
            extra_args=[
                "--standalone",
                f"--include-in-header={work / 'header.typ'}",
                "--variable=papersize:a4",  # pandoc's template sets the page after our header
                f"--metadata-file={work / 'page.yaml'}",
            ],
            sandbox=False,
            cworkdir=str(work),
        )
        source.write_text(
            _PAGE_MARK_LINE.sub(lambda m: _PAGE_MARKS[m[1]], source.read_text(encoding="utf-8")), encoding="utf-8"
        )
        try:
            pages = typst.compile(str(source), root=str(work), format=output, **options)
        except Exception as exc:  # typst reports its own error type
            raise RenderError(f"PDF: typst could not compile the pack: {exc}") from exc
    return pages if output == "pdf" or isinstance(pages, list) else [pages]


def _printable(document: str, media_dir: Path) -> str:
    """The HTML without its stylesheet, images written as files (pandoc is slow on large data: URIs)."""
    import base64

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(document, features="html.parser")
    for tag in soup.find_all("style"):
        tag.decompose()
    cover_heading = soup.select_one("header.bp-cover h1")
    if cover_heading is not None:  # the printed title block already says it
        cover_heading.decompose()
    for folded in soup.find_all("details"):
        # a folded table (e.g. every ICB ranked) prints as its one-line summary, as a browser prints it
        note = soup.new_tag("p")
        summary = folded.find("summary")
        note.string = summary.get_text(" ", strip=True) if summary else ""
        folded.replace_with(note)
    for foot in soup.find_all("tfoot"):
        # pandoc's typst footer rows overlap the table body when a table breaks across pages
        note = soup.new_tag("p")
        note.string = foot.get_text(" ", strip=True)
        foot.find_parent("table").insert_after(note)
        foot.decompose()
    _mark_pages(soup)
    for table in soup.find_all("table"):
        _set_column_widths(soup, table)
    for wrapper in soup.find_all("div"):
        wrapper.unwrap()  # layout wrappers would put the page marks inside blocks, where typst refuses them
    for number, img in enumerate(soup.find_all("img")):
        src = img.get("src", "")
        match = re.match(r"data:image/(png|jpeg);base64,(.*)", src, re.DOTALL)
        if match:
            name = f"figure-{number}.{'png' if match[1] == 'png' else 'jpg'}"
            (media_dir / name).write_bytes(base64.b64decode(match[2]))
            img.attrs["src"] = name
        img.attrs.pop("style", None)
        img.attrs.pop("height", None)  # the width alone keeps the image's proportions
        # an icon in a table cell prints at the text's height, so the scorecard keeps one line a row
        table_icon = "bp-table-icon" in (img.get("class") or [])
        img.attrs["width"] = "10px" if table_icon else _print_width(img.get("width"))
    return str(soup)


def _mark(soup, word: str):
    mark = soup.new_tag("p")
    mark.string = word
    return mark


def _mark_pages(soup) -> None:
    """Page marks (:data:`_PAGE_MARKS`): a new page before each section, the summary's first page
    landscape until its scorecard ends."""
    for heading in soup.find_all("h2", class_="bp-section-heading"):
        summary = heading.get("id") == "section-00_summary"
        heading.insert_before(_mark(soup, "BOARDPACKLANDSCAPE" if summary else "BOARDPACKPAGEBREAK"))
        if not summary:
            continue
        scorecard = next(
            (c.find_parent("table") for c in soup.find_all("caption") if c.get_text().startswith(_FIRST_PAGE_TABLE)),
            None,
        )
        if scorecard is not None:  # one row per KPI across a landscape page
            for cell in scorecard.find_all("td"):
                if cell.string and " percentage points" in cell.string:
                    cell.string = cell.string.replace(" percentage points", " pp")
                elif cell.string and cell.string.endswith(" percentage point"):
                    cell.string = cell.string.replace(" percentage point", " pp")
        after = scorecard
        if scorecard is not None and scorecard.find_next_sibling() is not None:
            note = scorecard.find_next_sibling()
            after = note if note.name == "p" else scorecard
            if note.name == "p" and note.string:
                note.string = note.string + " pp: percentage points."
        if after is not None:
            after.insert_after(_mark(soup, "BOARDPACKPORTRAIT"))
        else:  # no scorecard: only the heading's page is landscape
            heading.insert_after(_mark(soup, "BOARDPACKPORTRAIT"))


def _set_column_widths(soup, table) -> None:
    """Relative column widths from each column's longest word and text (pandoc gives typst equal
    ones): a column of long labels gets room, a column of short numbers stays narrow."""
    rows = [row.find_all(["th", "td"]) for row in table.find_all("tr")]
    columns = max((len(r) for r in rows), default=0)
    if columns < 2 or any(len(r) != columns for r in rows) or table.find("colgroup"):
        return
    need = []
    for i in range(columns):
        # an icon before a cell's words takes about three characters' room
        texts = [("ooo " if r[i].find("img") else "") + r[i].get_text(" ", strip=True) for r in rows]
        longest_word = max((len(w) for t in texts for w in t.split()), default=1)
        longest = max((len(t) for t in texts), default=1)
        # a short column keeps each cell on one line; a long one (labels) wraps at a readable width
        need.append(longest + 3 if longest <= 28 else max(longest_word + 3, min(longest, 60)))  # + the cell inset
    for row in rows:  # as on screen: text from the left, numbers on the right (pandoc centres by default)
        for cell in row:
            cell["style"] = "text-align: right" if "num" in (cell.get("class") or []) else "text-align: left"
    total = sum(need)
    group = soup.new_tag("colgroup")
    for width in need:
        group.append(soup.new_tag("col", attrs={"width": f"{width / total * 100:.1f}%"}))
    caption = table.find("caption")
    if caption is not None:
        caption.insert_after(group)  # HTML's order: caption, colgroup, then the rows
    else:
        table.insert(0, group)


# A4 less two 15 mm margins, in CSS pixels (96 per inch): the widest an image prints.
_TEXT_WIDTH_PX = 180 / 25.4 * 96
_PIXEL_WIDTH = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*")


def _print_width(width: str | None) -> str:
    """An image's printed width: its own pixel width when it fits the page (SPC icons stay icons),
    else the text width (charts, images without a width)."""
    match = _PIXEL_WIDTH.fullmatch(width or "")
    if match and 0 < float(match[1]) <= _TEXT_WIDTH_PX:
        return f"{float(match[1]):g}px"
    return "100%"
