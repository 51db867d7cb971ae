"""The section notebooks: stored clean and thin (static checks), and each runs standalone.

The execution test runs every notebook with papermill in a real kernel and NO parameters, against
a project root (``BOARDPACK_ROOT``) in a temporary folder holding the sample data for the latest
complete quarter, the targets and one commentary file with hostile HTML in it.
"""

from __future__ import annotations

import ast
import html
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from boardpack.params import resolve
from boardpack.sections import SECTIONS
from helpers import narrative, paths
from helpers.quarters import latest_complete

NOTEBOOKS = {s.id: s for s in SECTIONS}
ALLOWED_IMPORTS = {"warnings", "IPython.display", "helpers", "helpers.spc"}
# Nothing that computes or defines: notebooks load, call helpers and show.
FORBIDDEN_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.BinOp,
    ast.AugAssign,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.For,
    ast.While,
    ast.If,
    ast.IfExp,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
)
CELL_ID = re.compile(r"^cell-\d{2}$")


def read(section_id: str) -> nbformat.NotebookNode:
    return nbformat.read(paths.NOTEBOOKS_DIR / f"{section_id}.ipynb", as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def test_every_section_has_its_notebook_and_no_others():
    stored = {p.stem for p in paths.NOTEBOOKS_DIR.glob("*.ipynb")}
    assert stored == set(NOTEBOOKS)


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_notebook_is_stored_clean(section_id):
    nb = read(section_id)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    ids = [c.id for c in nb.cells]
    assert all(CELL_ID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert ids == [f"cell-{n:02d}" for n in range(1, len(ids) + 1)]  # fixed, in order: diffs stay small
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"{cell.id} holds outputs"
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_nbstripout_leaves_the_stored_notebook_unchanged_and_keeps_the_tag(section_id):
    from nbstripout import strip_output

    nb = read(section_id)
    stripped = strip_output(read(section_id), keep_output=False, keep_count=False, keep_id=True)
    assert stripped == nb
    parameters_cell(stripped)


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_opens_with_the_section_title_as_h2_and_uses_h3_within(section_id):
    nb = read(section_id)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source == f"## {NOTEBOOKS[section_id].title}"
    for cell in nb.cells[1:]:
        if cell.cell_type == "markdown":
            levels = [len(m) for m in re.findall(r"^(#+)\s", cell.source, flags=re.MULTILINE)]
            assert all(level == 3 for level in levels), f"{cell.id}: headings inside a section are h3"


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_parameters_are_literals_named_as_the_build_injects(section_id):
    cell = parameters_cell(read(section_id))
    tree = ast.parse(cell.source)
    names = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.unparse(node)
        names[node.targets[0].id] = ast.literal_eval(node.value)  # raises for anything but a literal
    injected = set(resolve({"quarter": "2026/27 Q2"}).notebook_parameters()) | {"store_dir", "fingerprint"}
    if section_id == "00_summary":  # the build gives the summary the previous pack and this pack's record
        injected |= {"previous_pack", "kpi_record"}
        assert names["previous_pack"] == "" and names["kpi_record"] == ""
    assert set(names) == injected
    assert names["quarter"] is None and names["data_dir"] is None  # latest quarter, sample data
    assert names["store_dir"] == ""  # standalone: validate and compute here; the build sets its store
    assert names["icb"] == "QWU" and names["sample_data"] is True


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_code_is_thin_imports_only_helpers_and_loads_the_tables_the_build_keys_on(section_id):
    nb = read(section_id)
    parameters = parameters_cell(nb)
    calls = []
    for cell in code_cells(nb):
        if cell is parameters:
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, FORBIDDEN_NODES), f"{section_id} {cell.id}: {type(node).__name__} in a notebook"
            if isinstance(node, ast.Import):
                assert all(a.name in ALLOWED_IMPORTS for a in node.names), ast.unparse(node)
            if isinstance(node, ast.ImportFrom):
                assert node.module in ALLOWED_IMPORTS, ast.unparse(node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("print", "exec", "eval", "open"), ast.unparse(node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "open_section":
                calls.append(node)
    assert len(calls) == 1, "each notebook opens its section once"
    call = calls[0]
    assert ast.literal_eval(call.args[0]) == section_id
    keywords = {k.arg: k.value for k in call.keywords}
    # No table list of its own: open_section loads the section's tables as helpers.pack_sections
    # declares them, the same the build's cache keys on.
    assert "tables" not in keywords
    names = ("quarter", "icb", "data_dir", "targets_file", "commentary_dir", "baseline_period", "sample_data")
    for name in (*names, "store_dir"):
        assert isinstance(keywords[name], ast.Name) and keywords[name].id == name  # passed straight through


# -- execution ----------------------------------------------------------------------------------------
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) <svg onload=alert(1)>"


@pytest.fixture(scope="module")
def standalone_root(tmp_path_factory, qwu_sample):
    """A project root with the sample data for the latest complete quarter, targets and commentary."""
    root = tmp_path_factory.mktemp("root")
    quarter = latest_complete()  # 2026/27 Q2: tests/conftest.py fixes today's date
    data_dir = root / "data" / "sample" / "QWU" / quarter.id
    shutil.copytree(qwu_sample, data_dir)
    shutil.copytree(paths.PARAMS_DIR, root / "params")
    commentary = root / "params" / "commentary" / quarter.id / "10_research_activity.md"
    commentary.parent.mkdir(parents=True, exist_ok=True)
    commentary.write_text(f"Analysts say **hello**. {HOSTILE}\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def executed(standalone_root, tmp_path_factory):
    """Every notebook run by papermill with no parameters (two kernels at a time)."""
    import papermill

    out = tmp_path_factory.mktemp("executed")
    previous = os.environ.get("BOARDPACK_ROOT")
    os.environ["BOARDPACK_ROOT"] = str(standalone_root)  # the kernels inherit it

    def run(section_id):
        target = out / f"{section_id}.ipynb"
        papermill.execute_notebook(
            str(paths.NOTEBOOKS_DIR / f"{section_id}.ipynb"),
            str(target),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(paths.NOTEBOOKS_DIR),
        )
        return section_id, nbformat.read(target, as_version=4)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(pool.map(run, NOTEBOOKS))
    finally:
        if previous is None:
            os.environ.pop("BOARDPACK_ROOT", None)
        else:
            os.environ["BOARDPACK_ROOT"] = previous


def outputs(nb) -> list:
    return [o for c in code_cells(nb) for o in c.outputs]


def summary_text(nb) -> str:
    found = [o for o in outputs(nb) if o.get("data", {}).get("text/html", "").startswith('<div class="bp-summary">')]
    assert len(found) == 1, "one summary paragraph"
    return found[0]["data"]["text/plain"]


def expected_section(section_id, root: Path):
    from helpers.section import open_section

    return open_section(
        section_id,
        data_dir=root / "data" / "sample" / "QWU" / latest_complete().id,
        tables=NOTEBOOKS[section_id].tables,
        targets_file=root / "params" / "targets.yml",
        commentary_dir=root / "params" / "commentary",
    )


@pytest.mark.e2e
@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_runs_standalone_with_title_and_the_helpers_figures_in_words(section_id, executed, standalone_root):
    nb = executed[section_id]
    assert nb.cells[0].source == f"## {NOTEBOOKS[section_id].title}"
    for cell in code_cells(nb):
        assert cell.metadata["papermill"]["status"] == "completed"
        for out in cell.outputs:
            assert out.output_type != "error"
            assert not (out.output_type == "stream" and out.name == "stderr"), f"{cell.id} printed: {out.text[:200]}"
    text = summary_text(nb)
    if section_id == "80_definitions":  # no figures: every headline KPI's definition
        from helpers.kpis import REGISTRY

        shown = " ".join(o.get("data", {}).get("text/html", "") for o in outputs(nb))
        assert all(html.escape(k.label) in shown for k in REGISTRY)
        return
    section = expected_section(section_id, standalone_root)
    assert len(section.scorecard) > 0
    skip = {"studies_open_pct_precovid"} if section_id == "10_research_activity" else set()
    if section_id == "00_summary":
        assert text.startswith(narrative.scorecard_overview(section.scorecard))
    else:
        for sentence in narrative.kpi_sentences(section.scorecard, skip=skip):
            assert sentence in text  # the words carry exactly the helpers' figures
    if section_id == "10_research_activity":
        assert f"NIHR studies open in {latest_complete().label}" in text
    if section_id == "00_summary":  # its first page: changes, exceptions and projections, then the scorecard
        from helpers import summary_page

        shown = " ".join(o.get("data", {}).get("text/html", "") for o in outputs(nb))
        assert f"NIHR studies open in {latest_complete().label}" in shown
        assert "No previous pack to compare with, so no changes since the last pack are shown." in shown
        for sentence in summary_page.exception_sentences(section):
            assert html.escape(sentence, quote=False) in shown


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.e2e
@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_every_figure_has_alt_text_and_every_table_a_caption(section_id, executed):
    charts = tables = 0
    for out in outputs(executed[section_id]):
        data = out.get("data", {})
        if "image/png" in data:
            charts += 1
            assert out["metadata"]["image/png"]["alt"].strip()
            assert data["text/plain"].split("\n")[0].strip()  # the title that states the finding
        elif "<table" in data.get("text/html", ""):
            tables += 1
            assert "<caption>" in data["text/html"]
        parser = _Elements()
        parser.feed(data.get("text/html", ""))
        for tag, attrs in parser.found:
            if tag == "img":
                assert attrs.get("alt", "").strip(), "every image in HTML carries alt text"
                assert attrs["src"].startswith("data:image/png;base64,")  # inline: nothing fetched
    assert charts + tables >= 2


@pytest.mark.e2e
def test_commentary_is_shown_under_the_summary_with_html_escaped(executed):
    shown = [
        o["data"]["text/html"]
        for o in outputs(executed["10_research_activity"])
        if "bp-commentary" in o.get("data", {}).get("text/html", "")
    ]
    assert len(shown) == 1
    parser = _Elements()
    parser.feed(shown[0])
    assert {tag for tag, _ in parser.found} <= {"section", "h3", "p", "strong"}
    assert all(not any(k.startswith("on") or k in ("src", "href") for k in attrs) for _, attrs in parser.found)
    assert "&lt;script&gt;" in shown[0] and "<strong>hello</strong>" in shown[0]
    # Under the summary: the commentary is the output right after it.
    htmls = [o.get("data", {}).get("text/html", "") for o in outputs(executed["10_research_activity"])]
    first = next(i for i, h in enumerate(htmls) if h.startswith('<div class="bp-summary">'))
    assert "bp-commentary" in htmls[first + 1]
    # Sections without a commentary file show none.
    assert not any(
        "bp-commentary" in o.get("data", {}).get("text/html", "") for o in outputs(executed["60_engagement"])
    )


@pytest.mark.e2e
def test_table_ids_are_unique_across_the_pack(executed):
    ids = []
    for nb in executed.values():
        for out in outputs(nb):
            ids += re.findall(r'<table[^>]* id="([^"]+)"', out.get("data", {}).get("text/html", ""))
    assert ids and len(ids) == len(set(ids))


@pytest.mark.e2e
def test_outputs_are_the_same_on_a_second_run(executed, standalone_root, tmp_path, monkeypatch):
    """No timestamps or random ids: the same inputs give the same outputs (the cache relies on it)."""
    import papermill

    monkeypatch.setenv("BOARDPACK_ROOT", str(standalone_root))
    papermill.execute_notebook(
        str(paths.NOTEBOOKS_DIR / "70_deliverables.ipynb"),
        str(tmp_path / "again.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(paths.NOTEBOOKS_DIR),
    )
    again = nbformat.read(tmp_path / "again.ipynb", as_version=4)
    assert [c.outputs for c in code_cells(again)] == [c.outputs for c in code_cells(executed["70_deliverables"])]


def _calls(nb, attribute: str) -> list[ast.Call]:
    """Every call of ``<module>.<attribute>(...)`` in the notebook, in its order."""
    calls = []
    for cell in code_cells(nb):
        found = [
            node
            for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
        ]
        calls += sorted(found, key=lambda c: (c.lineno, c.col_offset))
    return calls


def _named_calls(nb, attribute: str) -> list[str]:
    """The literal names passed to ``sections.<attribute>(sec, "<name>")``, in the notebook's order."""
    return [ast.literal_eval(call.args[1]) for call in _calls(nb, attribute)]


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_every_table_shown_is_declared_in_the_helpers_in_the_order_shown(section_id):
    """Notebooks define no table: each shows its section's declared tables (helpers.section_tables),
    every one once and in the declared order, which is the appendix's order."""
    from helpers import section_tables

    nb = read(section_id)
    declared = section_tables.declarations(section_id)
    assert _named_calls(nb, "detail_table") == [d.name for d in declared if d.table is not None and d.in_notebook]
    assert set(_named_calls(nb, "detail_frame")) <= {d.name for d in declared}
    assert not _calls(nb, "table") and not _calls(nb, "headline_table"), "a table defined in a notebook"


# Section helpers that make a frame (a chart's frame is declared in helpers.section_tables instead).
FRAME_MAKERS = ("with_dates", "observed", "spc_of", "readable", "percent_to_share", "rows_except", "without_small_rows")


def _kpi_module_calls(source: str) -> list[str]:
    """Every call of a ``helpers.kpi_*`` module's function in ``source``, however it was imported
    (``from helpers import kpi_x [as y]``, ``import helpers.kpi_x [as y]``, ``from helpers.kpi_x import f``)."""
    tree = ast.parse(source)
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "helpers":
            modules |= {a.asname or a.name for a in node.names if a.name.startswith("kpi")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers.kpi"):
            functions |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name.startswith("helpers.kpi")}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        owner = called.rpartition(".")[0]
        if called in functions or owner in modules or re.match(r"(helpers\.)?kpi_\w+\.", called):
            found.append(called)
    return found


def test_kpi_module_calls_are_found_however_imported():
    assert _kpi_module_calls("from helpers import kpi_activity\nkpi_activity.new_studies(a, b, c)") == [
        "kpi_activity.new_studies"
    ]
    assert _kpi_module_calls("from helpers import kpi_commercial as kc\nx = f(kc.share(d))") == ["kc.share"]
    assert _kpi_module_calls("import helpers.kpi_activity\nhelpers.kpi_activity.new_studies(d)")
    assert _kpi_module_calls("from helpers.kpi_activity import new_studies as n\nn(d)") == ["n"]
    assert _kpi_module_calls("from helpers import kpis\nkpis.KPIS['x'].series(d)") == []  # no kpi_ module
    assert _kpi_module_calls("from helpers import kpi_commercial\nt = kpi_commercial.NATIONAL_SETUP_TARGET_DAYS") == []


@pytest.mark.parametrize("section_id", NOTEBOOKS)
def test_notebooks_compute_no_frame_they_read_the_declared_ones(section_id):
    """A notebook draws, words and shows the frames its section declares (helpers.section_tables,
    computed once by the build's KPI stage): it calls no KPI module's function and makes no frame
    with the section helpers, and reads every chart's frame its section declares."""
    from helpers import section_tables

    nb = read(section_id)
    for cell in code_cells(nb):
        assert not _kpi_module_calls(cell.source), f"{section_id} {cell.id} computes a frame: declare it"
    for maker in FRAME_MAKERS:
        assert not _calls(nb, maker), f"{section_id}: sections.{maker} in a notebook: declare the frame it makes"
    charts_only = {d.name for d in section_tables.declarations(section_id) if d.table is None and d.in_notebook}
    assert charts_only <= set(_named_calls(nb, "detail_frame")), "a chart's frame declared and never read"
