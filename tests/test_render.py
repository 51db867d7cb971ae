"""Render: one offline HTML file (no code, no script, no external URL, lang, alt text, outline),
a PDF by pandoc + typst, and the appendix with formula-like cells neutralised."""

from __future__ import annotations

import copy
import csv
import re
import time
from pathlib import Path

import nbformat
import pytest
from openpyxl import load_workbook

from boardpack import render
from boardpack.cache import prepare_notebook, strip_volatile
from boardpack.execute import SectionTask, execute_section

FIXTURES = Path(__file__).parent / "notebooks"
ATTRIBUTE_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:|//|javascript:)""", re.IGNORECASE)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    """The engagement fixture section, executed once in a real kernel."""
    tmp = tmp_path_factory.mktemp("render")
    (tmp / "engagement.csv").write_text(
        "IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q1,events,12\nQWU,2026-27-Q2,events,15\n"
    )
    prepared = prepare_notebook(
        FIXTURES / "engagement_section.ipynb",
        {
            "quarter": "2026/27 Q2",
            "icb": "QWU",
            "data_dir": str(tmp),
            "targets_file": "",
            "commentary_dir": str(tmp),
            "baseline_period": "2019-20-Q1..2019-20-Q4",
            "sample_data": True,
            "fingerprint": "test",
        },
    )
    nbformat.write(prepared, tmp / "prepared.ipynb")
    result = execute_section(
        SectionTask(
            "60_engagement",
            str(tmp / "prepared.ipynb"),
            str(tmp / "out.ipynb"),
            str(tmp / "failed"),
            str(FIXTURES),
            120,
            time.time() + 300,
        )
    )
    assert result.ok, result.error
    return strip_volatile(nbformat.read(result.output_notebook, as_version=4))


def _cover(sample: bool = True) -> render.Cover:
    return render.Cover(
        "QWU", "NHS Coventry and Warwickshire Integrated Care Board", "2026/27 Q2", "2026-11-22", sample
    )


def _sections(nb) -> list[render.SectionNotebook]:
    return [
        render.SectionNotebook("60_engagement", "Engagement fixture", nb),
        render.SectionNotebook("70_deliverables", "Deliverables", nb),
    ]


@pytest.fixture(scope="module")
def document(executed) -> str:
    return render.render_html(render.merge(_cover(), _sections(executed)))


@pytest.mark.integration
def test_html_is_self_contained_and_runs_nothing(document):
    assert "<script" not in document.lower()
    assert not ATTRIBUTE_URL.search(document)
    assert "http://" not in document and "https://" not in document  # not even in CSS comments
    assert not re.search(r"\son[a-z]+\s*=", document)
    assert "data:image/png;base64," in document


@pytest.mark.integration
def test_html_has_no_code_and_no_parameter_cells(document):
    assert not re.search(r'class="[^"]*\b(jp-InputPrompt|jp-OutputPrompt|jp-CodeMirrorEditor|highlight)\b', document)
    assert "matplotlib.use" not in document and "pd.read_csv" not in document
    assert "fingerprint" not in document and "sample_data = True" not in document
    assert render.TABLE_MIMETYPE not in document


@pytest.mark.integration
def test_html_language_title_alt_text_and_outline(document):
    assert re.search(r'<html[^>]*\slang="en-GB"', document)
    assert (
        "<title>R&amp;I board pack: NHS Coventry and Warwickshire Integrated Care Board, 2026/27 Q2</title>" in document
    )
    alts = re.findall(r'<img[^>]*\balt="([^"]*)"', document)
    assert len(alts) == document.count("<img") == 2
    assert all(a.startswith("Bar chart: one bar per row of engagement") for a in alts)
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", document)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))  # never skips a level going down
    for target in re.findall(r'href="#([^"]+)"', document):
        assert f'id="{target}"' in document  # every contents link lands on a heading
    assert document.index('id="section-60_engagement"') < document.index('id="section-70_deliverables"')
    assert "SAMPLE DATA" in document


@pytest.mark.integration
def test_html_is_byte_stable_and_banner_only_for_sample_data(executed, document):
    assert render.render_html(render.merge(_cover(), _sections(executed))) == document
    real = render.render_html(render.merge(_cover(sample=False), _sections(executed)))
    assert "SAMPLE DATA" not in real


@pytest.mark.integration
def test_figure_without_alt_text_stops_the_render(executed):
    nb = copy.deepcopy(executed)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("image/png", None)
    with pytest.raises(render.RenderError, match="section 60_engagement, cell .*no alt text"):
        render.check_alt_text(render.SectionNotebook("60_engagement", "Engagement", nb))


@pytest.mark.integration
def test_html_image_without_alt_stops_the_render(executed):
    nb = copy.deepcopy(executed)
    bare = nbformat.v4.new_output("display_data", data={"text/html": '<img src="data:image/png;base64,AAAA">'})
    nb.cells[-1].outputs.append(bare)
    with pytest.raises(render.RenderError, match="no alt text"):
        render.render_html(render.merge(_cover(), [render.SectionNotebook("60_engagement", "Engagement", nb)]))


def test_sanitise_removes_scripts_handlers_and_outside_links():
    dirty = (
        '<html><body><script>alert(1)</script><img src="x" onerror="alert(1)" alt="a">'
        '<a href="javascript:alert(1)">j</a><a href="https://example.org/x">site</a>'
        '<img src="https://example.org/t.png" alt="t"><a href="#contents">in</a></body></html>'
    )
    clean = render.sanitise(dirty)
    assert "<script" not in clean and "onerror" not in clean and "javascript:" not in clean.split("j</a>")[0]
    assert not ATTRIBUTE_URL.search(clean)
    assert "site (https://example.org/x)" in clean  # the words stay, shown as text
    assert 'href="#contents"' in clean


def test_appendix_csv_cells_carry_no_float_noise(tmp_path):
    import pandas as pd

    from helpers.tables import format_table

    frame = pd.DataFrame({"Quarter": ["2026/27 Q2"], "Income": [848_377.4500000001], "Pct": [0.1 + 0.2]})
    table = format_table(frame, caption="Income", units={"Income": "GBP"}, name="income")
    render.write_appendix([("30_commercial", table.payload())], tmp_path)
    text = (tmp_path / "income.csv").read_text(encoding="utf-8")
    assert text == "Quarter,Income (GBP),Pct\n2026/27 Q2,848377,0.3\n"


def test_appendix_writes_no_float_noise_even_from_an_unrounded_payload(tmp_path):
    payload = {"name": "raw", "columns": ["A", "B"], "rows": [[848_377.4500000001, 0.1 + 0.2], [3, None]]}
    render.write_appendix([("30_commercial", payload)], tmp_path)
    assert (tmp_path / "raw.csv").read_text(encoding="utf-8") == "A,B\n848377.45,0.3\n3,\n"
    sheet = load_workbook(tmp_path / "tables.xlsx")["raw"]
    assert [c.value for c in sheet[2]] == [848377.45, 0.3]


def _store_with(folder: Path, *tables) -> Path:
    """A section store holding ``tables`` (helpers.tables.Table) as the KPI stage writes them."""
    import pandas as pd

    from helpers import store
    from helpers.section_tables import Computed

    inputs = store.KpiInputs.of("2026/27 Q2", "QWU", None, ())
    kpis = store.Kpis(pd.DataFrame({"Kpi": []}), {})
    detail = {t.name: Computed(t.name, t.frame, t) for t in tables}
    return store.write_store(folder, {}, inputs, kpis, (), detail)


def test_appendix_is_written_from_the_section_stores_in_plan_order(tmp_path):
    import pandas as pd

    from helpers.tables import format_table

    first = format_table(pd.DataFrame({"A": [1]}), caption="First", name="first")
    second = format_table(pd.DataFrame({"B": [2.5]}), caption="Second", name="second")
    third = format_table(pd.DataFrame({"C": ["x"]}), caption="Third", name="first")  # same name: first_2
    stores = [("10_a", _store_with(tmp_path / "a", first, second)), ("20_b", _store_with(tmp_path / "b", third))]
    tables = render.store_tables(stores)
    assert tables == [("10_a", first.payload()), ("10_a", second.payload()), ("20_b", third.payload())]
    files = render.write_appendix(tables, tmp_path / "appendix")
    assert [f.name for f in files] == ["first.csv", "second.csv", "first_2.csv", "tables.xlsx"]
    assert render.store_tables([("30_c", _store_with(tmp_path / "c"))]) == []  # a section without tables


def test_appendix_neutralises_formulas_and_keeps_numbers(tmp_path):
    import pandas as pd

    from helpers.tables import format_table

    frame = pd.DataFrame(
        {
            "IcbCode": ["QWU", "=1+1"],
            "Quarter": ["2026-27-Q2", "@SUM(A1)"],
            "Measure": ["events", "+44 20"],
            "Value": [15, -3],
        }
    )
    table = format_table(frame, caption="Rows of engagement", name="engagement_rows")
    tables = render.store_tables([("60_engagement", _store_with(tmp_path / "store", table))])
    files = render.write_appendix(tables, tmp_path)
    assert [f.name for f in files] == ["engagement_rows.csv", "tables.xlsx"]
    rows = list(csv.reader((tmp_path / "engagement_rows.csv").open(encoding="utf-8")))
    assert rows[0] == ["IcbCode", "Quarter", "Measure", "Value"]
    assert rows[-1] == ["'=1+1", "'@SUM(A1)", "'+44 20", "-3"]
    sheet = load_workbook(tmp_path / "tables.xlsx")["engagement_rows"]
    last = [c.value for c in sheet[sheet.max_row]]
    assert last == ["'=1+1", "'@SUM(A1)", "'+44 20", -3]  # -3 is a genuine number, kept numeric
    first = (tmp_path / "tables.xlsx").read_bytes()
    render.write_appendix(tables, tmp_path)
    assert (tmp_path / "tables.xlsx").read_bytes() == first  # no timestamps inside


@pytest.mark.integration
def test_pdf_is_a4_with_the_charts_and_text(document, tmp_path):
    from pypdf import PdfReader

    render.write_pdf(document, tmp_path / "pack.pdf")
    reader = PdfReader(tmp_path / "pack.pdf")
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4 portrait, points
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Engagement fixture" in text and "Deliverables" in text and "SAMPLE DATA" in text
    assert sum(len(p.images) for p in reader.pages) == 2
    for page in reader.pages:
        for image in page.images:
            assert image.image.width > 0


def _png(width: int, height: int) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 94, 184)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _drawn_image_widths(path: Path) -> list[float]:
    """Widths in points at which each image is drawn in the PDF (from the matrix before each Do)."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    widths = []
    for page in PdfReader(path).pages:
        matrix = [1, 0, 0, 1, 0, 0]
        stack = []
        for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
            if operator == b"q":
                stack.append(matrix)
            elif operator == b"Q":
                matrix = stack.pop()
            elif operator == b"cm":
                a, b, c, d, e, f = (float(x) for x in operands)
                m = matrix
                matrix = [
                    a * m[0] + b * m[2],
                    a * m[1] + b * m[3],
                    c * m[0] + d * m[2],
                    c * m[1] + d * m[3],
                    e * m[0] + f * m[2] + m[4],
                    e * m[1] + f * m[3] + m[5],
                ]
            elif operator == b"Do":
                widths.append(abs(matrix[0]))
    return widths


@pytest.mark.integration  # pandoc and typst run as subprocesses
def test_pdf_prints_small_images_at_their_own_width_and_charts_at_the_text_width(tmp_path):
    document = (
        f'<html><body><p><img src="{_png(192, 192)}" alt="icon one" width="96">'
        f' <img src="{_png(192, 192)}" alt="icon two" width="96px"></p>'
        f'<p><img src="{_png(2000, 800)}" alt="chart" width="1400"></p>'
        f'<p><img src="{_png(600, 300)}" alt="no width"></p></body></html>'
    )
    render.write_pdf(document, tmp_path / "pack.pdf")
    text_width = 595.3 - 2 * 15 / 25.4 * 72  # A4 less 15 mm margins, points
    assert _drawn_image_widths(tmp_path / "pack.pdf") == pytest.approx([72, 72, text_width, text_width], abs=1)


@pytest.mark.integration  # pandoc and typst run as subprocesses
def test_pdf_prints_a_folded_table_as_its_summary_line(tmp_path):
    from pypdf import PdfReader

    rows = "".join(f"<tr><td>ICB {n}</td><td>{n}</td></tr>" for n in range(40))
    document = (
        "<html><body><p>Before the fold.</p>"
        '<details class="bp-details"><summary>All 40 ICBs ranked (appendix file peers_x.csv)</summary>'
        f"<table><caption>Every ICB</caption>{rows}</table></details><p>After the fold.</p></body></html>"
    )
    render.write_pdf(document, tmp_path / "pack.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "pack.pdf").pages)
    assert "All 40 ICBs ranked (appendix file peers_x.csv)" in text and "After the fold." in text
    assert "ICB 39" not in text and "Every ICB" not in text


@pytest.mark.integration  # pandoc and typst run as subprocesses
def test_pdf_pages_cover_then_a_landscape_first_page_then_a_page_per_section(tmp_path):
    from pypdf import PdfReader

    rows = "".join(
        f"<tr><th>Section {n}</th><td>KPI {n} with a label of some length</td><td>down 0.{n} percentage points</td></tr>"
        for n in range(19)
    )
    document = (
        "<html><body><header><h1>Pack</h1><p>Cover</p></header>"
        '<h2 class="bp-section-heading" id="section-00_summary">Summary scorecard</h2>'
        "<h3>Changes since the last pack</h3><p>One change.</p>"
        f"<table><caption>Headline KPIs of the plan, 2026/27 Q2</caption>{rows}</table><p>Variation note.</p>"
        "<h3>How we compare</h3><p>After the first page.</p>"
        '<h2 class="bp-section-heading" id="section-10_research_activity">Research activity</h2><p>Ten.</p>'
        '<h2 class="bp-section-heading" id="section-20_participation_equity">Participation</h2><p>Twenty.</p>'
        "</body></html>"
    )
    render.write_pdf(document, tmp_path / "pack.pdf")
    pages = PdfReader(tmp_path / "pack.pdf").pages
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages]
    texts = [p.extract_text() for p in pages]
    assert sizes == [(595, 842), (842, 595), (595, 842), (595, 842), (595, 842)]
    assert "Cover" in texts[0] and "Summary scorecard" not in texts[0]
    assert "Changes since the last pack" in texts[1] and "KPI 18 with" in texts[1]  # the whole scorecard
    assert "0.3 pp" in texts[1] and "pp: percentage points." in texts[1]  # printed short so rows fit
    assert "After the first page." in texts[2] and texts[3].startswith("Research activity")
    assert "Twenty." in texts[4]
    assert all(text.rstrip().endswith(str(n)) for n, text in enumerate(texts, 1))  # page numbers


@pytest.mark.e2e
def test_table_text_cells_read_left_and_numbers_right_in_a_browser(executed, tmp_path):
    import subprocess

    import pandas as pd

    from helpers.tables import format_table

    table = format_table(pd.DataFrame({"Measure": ["events", "visits"], "Value": [12, 15]}), caption="Measures")
    nb = copy.deepcopy(executed)
    nb.cells[-1].outputs.append(nbformat.v4.new_output("display_data", data={"text/html": table._repr_html_()}))
    document = render.render_html(render.merge(_cover(), [render.SectionNotebook("60_engagement", "Engagement", nb)]))
    assert 'class="boardpack-table"' in document and 'class="num"' in document
    # A probe appended for this test only (the pack has no scripts): the browser writes the
    # computed alignment of the first text and numeric cell into the page, read back with --dump-dom.
    probe = (
        "<script>const t = document.querySelector('table.boardpack-table');"
        "const align = s => getComputedStyle(t.querySelector(s)).textAlign;"
        "document.body.setAttribute('data-align', [align('tbody tr > :not(.num)'), align('tbody .num'), "
        "align('thead .num'), align('thead th:not(.num)'), align('caption')].join(','));</script>"
    )
    page = tmp_path / "pack.html"
    page.write_text(document.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            "/usr/bin/chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert 'data-align="left,right,right,left,left"' in dom
