"""The real board pack, end to end: `boardpack build` on the sample data with the real section
notebooks and real kernels, in a temporary project root; then the published files are read back.

One cold build and one rebuild for the whole module (8 kernels), so the suite stays affordable.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from boardpack import scan
from boardpack.sections import SECTIONS
from helpers import paths
from helpers.loading import load_data
from helpers.quarters import parse
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets

pytestmark = pytest.mark.e2e
QUARTER = parse("2026/27 Q2")
ICB = "QWU"
BOARDPACK = [sys.executable, "-m", "boardpack"]


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BOARDPACK_ROOT=str(root), COLUMNS="200")  # messages unwrapped
    return subprocess.run([*BOARDPACK, *args], cwd=root, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack-root")
    for folder in ("notebooks", "params"):
        shutil.copytree(paths.PROJ_ROOT / folder, root / folder)
    shutil.copy(paths.PROJ_ROOT / "requirements.lock", root / "requirements.lock")
    cold = _run(root, "build", "--quarter", QUARTER.label, "--icb", ICB)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    folder = root / "reports" / ICB / QUARTER.id
    html_path = Path(cold.stdout.strip().splitlines()[-1])
    assert html_path == folder / "board_pack.html"
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    warm = _run(root, "build", "--quarter", QUARTER.label, "--icb", ICB)
    return {"root": root, "folder": folder, "html": html_path.read_text(encoding="utf-8"), "cold": cold,
            "warm": warm, "before": before, "data": root / "data" / "sample" / ICB / QUARTER.id}


class _Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.scripts = 0
        self.html_lang = None
        self._in_heading: int | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading = int(tag[1])
            self.headings.append((self._in_heading, ""))
        if tag == "img":
            self.images.append(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading = None

    def handle_data(self, data):
        if self._in_heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def _outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def test_pack_has_a_cover_and_every_section_in_plan_order(pack):
    outline = _outline(pack["html"])
    assert outline.html_lang == "en-GB"
    assert outline.headings[0][0] == 1
    h2 = [text.strip() for level, text in outline.headings if level == 2]
    titles = [s.title for s in SECTIONS]
    positions = [next(i for i, text in enumerate(h2) if title in text) for title in titles]
    assert positions == sorted(positions), h2
    assert "SAMPLE DATA" in pack["html"].upper()


def test_headings_never_skip_a_level(pack):
    levels = [level for level, _ in _outline(pack["html"]).headings]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels


def test_no_code_no_script_no_external_url(pack):
    outline = _outline(pack["html"])
    assert outline.scripts == 0
    external = [u for u in outline.urls if not (u.startswith("#") or u.startswith("data:"))]
    assert external == []
    # The inlined JupyterLab CSS names these classes; no element may carry them.
    # Markdown cells render inside jp-InputArea; code cells must leave no editor, prompt or source.
    assert not re.search(r'class="[^"]*\b(jp-InputPrompt|jp-OutputPrompt|jp-CodeMirrorEditor|highlight)\b', pack["html"])
    assert "injected-parameters" not in pack["html"]
    assert "open_section(" not in pack["html"]  # the notebooks' code never reaches the pack


def test_every_figure_has_meaningful_alt_text(pack):
    images = _outline(pack["html"]).images
    assert len(images) >= 8
    for image in images:
        alt = (image.get("alt") or "").strip()
        assert len(alt) > 15 and "No description" not in alt, alt
        assert image["src"].startswith("data:image/")


def test_scorecard_figures_equal_what_the_helpers_compute(pack):
    """The published scorecard (appendix copy of the summary's table) equals the helpers' scorecard,
    computed here, in this process, from the same sample data: every KPI, value, change, target, RAG."""
    from helpers.narrative import scorecard_view

    published = pd.read_csv(pack["folder"] / "appendix" / "00_summary_headline_kpis.csv", dtype=str,
                            keep_default_na=False)
    data = load_data(pack["data"], QUARTER)
    scorecard = build_scorecard(data, QUARTER, ICB, load_targets(paths.PARAMS_DIR / "targets.yml"))
    expected = scorecard_view(scorecard).astype(str)
    assert len(published) == len(scorecard) >= 15
    assert published.values.tolist() == expected.values.tolist()
    # ...and the same figures are in the HTML the reviewers read.
    text = _text(pack["html"])
    for label, latest in zip(expected.iloc[:, 1], expected.iloc[:, 2]):
        assert label in text and latest in text, (label, latest)


def _text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_pdf_and_appendix_are_published(pack):
    reader = PdfReader(pack["folder"] / "board_pack.pdf")
    assert len(reader.pages) >= 8
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 in points
    assert list((pack["folder"] / "appendix").glob("*.xlsx"))
    manifest = json.loads((pack["folder"] / "manifest.json").read_text())
    assert set(manifest) >= {"parameters", "inputs", "outputs", "sections", "git", "packages"}


def test_published_pack_passes_the_safety_scan(pack):
    findings = scan.scan_pack(pack["folder"])
    assert findings == [], findings


def test_second_build_hits_the_cache_for_every_section_and_changes_nothing(pack):
    assert pack["warm"].returncode == 0, pack["warm"].stdout + pack["warm"].stderr
    output = pack["warm"].stdout + pack["warm"].stderr  # the progress table may go to either
    for section in SECTIONS:
        line = next(l for l in output.splitlines() if section.id in l)
        assert "cached" in line, line
    after = {p.relative_to(pack["folder"]): p.read_bytes() for p in pack["folder"].rglob("*") if p.is_file()}
    assert after == pack["before"]


def test_sample_pack_has_no_wcag_a_or_aa_violations_in_a_real_browser(pack, tmp_path):
    from boardpack.check import format_violations, run_axe

    report = run_axe(pack["folder"] / "board_pack.html", tmp_path / "axe.json")
    assert report["violations"] == [], format_violations(report)
    assert report["passes"], "axe ran no rule at all"
    assert report["blocked_requests"] == []  # the pack fetches nothing: it opens offline


# -- the bad-input corpus, at build level: exit 2 before any kernel, message names file/row/column,
#    the published pack stays byte-identical. Each case edits a copy of the sample data.
def _edit_line(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_bytes().split(b"\n")
    assert old.encode() in lines[line_no - 1], (path.name, line_no, lines[line_no - 1])
    lines[line_no - 1] = lines[line_no - 1].replace(old.encode(), new.encode(), 1)
    path.write_bytes(b"\n".join(lines))


def _second_recruitment_row(folder: Path) -> list[str]:
    return (folder / "recruitment.csv").read_text().splitlines()[1].split(",")


BAD_INPUTS = {
    # case: (edit, file, row, column, words in the message)
    "count n/a": (lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[3], ",n/a"),
                  "recruitment.csv", "2", "Participants", ""),
    "negative count": (lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[3], ",-3"),
                       "recruitment.csv", "2", "Participants", ""),
    "unknown organisation": (lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[1] + ",", ",ZZZ99,"),
                             "recruitment.csv", "2", "OrganisationCode", "ZZZ99"),
    "duplicate key": (lambda d: (d / "recruitment.csv").write_bytes(
                          (d / "recruitment.csv").read_bytes() + (d / "recruitment.csv").read_text().splitlines()[1].encode() + b"\n"),
                      "recruitment.csv", "", "", "duplicate"),
    "date after the quarter": (lambda d: _edit_line(d / "recruitment.csv", 2, "," + _second_recruitment_row(d)[2] + ",", ",2027-01,"),
                               "recruitment.csv", "2", "Month", ""),
    "wrong encoding": (lambda d: (d / "organisations.csv").write_bytes((d / "organisations.csv").read_text().encode("utf-16")),
                       "organisations.csv", "", "", "UTF-16"),
    "empty file": (lambda d: (d / "engagement.csv").write_bytes(b""), "engagement.csv", "", "", ""),
    "header-only file": (lambda d: (d / "engagement.csv").write_text((d / "engagement.csv").read_text().splitlines()[0] + "\n"),
                         "engagement.csv", "", "", ""),
    "missing table": (lambda d: (d / "workforce.csv").unlink(), "workforce", "", "", ""),
    "NHS number in a text field": (lambda d: _edit_line(d / "organisations.csv", 2, "University Hospitals", "Patient 943 476 5919"),
                                   "organisations.csv", "2", "OrganisationName", ""),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_names_file_row_column_and_leaves_the_pack_byte_identical(pack, case, tmp_path):
    edit, file, row, column, words = BAD_INPUTS[case]
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    edit(data)
    result = _run(pack["root"], "build", "--quarter", QUARTER.label, "--icb", ICB, "--data", str(data))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    for expected in (file, row, column, words):
        assert expected.lower() in output.lower(), (case, expected, output[-2000:])
    assert "9434765919" not in output.replace(" ", "")  # an identifier is never echoed in full
    after = {p.relative_to(pack["folder"]): p.read_bytes() for p in pack["folder"].rglob("*") if p.is_file()}
    assert after == pack["before"]


def test_forced_rebuild_in_fresh_kernels_gives_identical_figures_tables_and_section_hashes(pack):
    """Reproducible: every section re-executed (--force) gives the same HTML bytes (figures inline),
    the same appendix and the same per-section content hashes."""
    folder = pack["folder"]
    manifest = json.loads((folder / "manifest.json").read_text())
    forced = _run(pack["root"], "build", "--quarter", QUARTER.label, "--icb", ICB, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    again = json.loads((folder / "manifest.json").read_text())
    assert not any(s.get("cache_hit") for s in again["sections"])
    assert [s["content_hash"] for s in again["sections"]] == [s["content_hash"] for s in manifest["sections"]]
    assert (folder / "board_pack.html").read_bytes() == pack["before"][Path("board_pack.html")]
    for path, content in pack["before"].items():
        if path.parts[0] == "appendix":
            assert (folder / path).read_bytes() == content, path


def test_hostile_text_in_data_is_shown_as_text_and_formulas_are_neutralised(pack, tmp_path):
    """Runs last: it publishes a new version of the pack (valid data, hostile organisation names)."""
    data = tmp_path / "extract"
    shutil.copytree(pack["data"], data)
    organisations = data / "organisations.csv"
    hostile = '"=HYPERLINK(""http://x"")<script>alert(1)</script><img src=x onerror=alert(1)><svg onload=alert(1)>"'
    _edit_line(organisations, 2, "University Hospitals Coventry and Warwickshire NHS Trust", hostile.replace(",", ""))
    result = _run(pack["root"], "build", "--quarter", QUARTER.label, "--icb", ICB, "--data", str(data), "--no-pdf")
    assert result.returncode == 0, result.stdout + result.stderr
    html = (pack["folder"] / "board_pack.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "onerror=" not in html.lower().replace("onerror=alert", "")
    assert scan.scan_pack(pack["folder"]) == []
    cells = [cell for csv in (pack["folder"] / "appendix").glob("*.csv")
             for cell in pd.read_csv(csv, dtype=str, keep_default_na=False).values.ravel()]
    hostile_cells = [c for c in cells if "HYPERLINK" in c]
    assert hostile_cells, "the organisation name should reach a published table"
    assert all(c.startswith("'=") for c in hostile_cells), hostile_cells
