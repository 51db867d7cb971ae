"""boardpack.check: the real axe-core in Debian's headless Chromium, screenshots, `boardpack check`.

Needs /usr/bin/chromium and tools/a11y/node_modules: `make test` installs both first.
"""

from __future__ import annotations

import copy
import json
import struct

import nbformat
import pytest
from jinja2 import DictLoader
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from typer.testing import CliRunner

import boardpack.check as check
from boardpack.check import BrowserRunError, BrowserSetupError, pack_dir_for, run_axe, screenshot
from boardpack.cli import app

pytestmark = pytest.mark.e2e  # headless Chromium and real kernels

ALT = "Line chart: participants per quarter rose from 900 to 1,235"

FIGURE_CELL = f"""%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(["Q3", "Q4", "Q1", "Q2"], [900, 1000, 1100, 1235])
ax.set_title("Participants per quarter")
plt.close(fig)
display(fig, metadata={{"image/png": {{"alt": {ALT!r}}}}})"""


@pytest.fixture(scope="module")
def executed_notebook():
    """A tiny section notebook, executed in a real kernel: a matplotlib figure and a pandas table."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Board pack\n\n## Participation\n\n1,235 participants this quarter, up 135."),
        nbformat.v4.new_code_cell(FIGURE_CELL),
        nbformat.v4.new_code_cell('pd.DataFrame({"Place": ["North", "South"], "Participants": [610, 625]})'),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


# nbconvert's lab template ignores alt text in output metadata; this adds it (as the build's
# own template does). A figure without it gets nbconvert's placeholder alt text.
FIGURE_ALT_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- set alt = output.metadata.get('image/png', {}).get('alt') -%}
{%- if alt %} alt="{{ alt | escape_html }}"{% endif %}>
</div>
{%- endblock data_png %}"""


def export(nb, path, *, prompts: bool = False):
    """nbconvert's lab template with code hidden, as the build exports the pack."""
    exporter = HTMLExporter(
        template_name="lab",
        template_file="figure_alt.html.j2",
        extra_loaders=[DictLoader({"figure_alt.html.j2": FIGURE_ALT_TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=not prompts,
        exclude_output_prompt=not prompts,
    )
    html, _ = exporter.from_notebook_node(nb)
    path.write_text(html, encoding="utf-8")
    return path


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


BAD_PAGE = """<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>
<h1>Pack</h1><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">
<p style="color:#aaaaaa;background:#ffffff">Low contrast text</p></main></body></html>"""

GOOD_PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>QWU board pack 2026/27 Q2</title></head>
<body><main><h1>Research and innovation board pack</h1><h2>Participation</h2>
<p>1,235 participants this quarter.</p>
<img alt="Bar chart: participants by place, North 610 and South 625" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">
<table><caption>Participants by place</caption><thead><tr><th scope="col">Place</th><th scope="col">Participants</th></tr></thead>
<tbody><tr><th scope="row">North</th><td>610</td></tr><tr><th scope="row">South</th><td>625</td></tr></tbody></table>
</main></body></html>"""


def test_accessible_nbconvert_page_has_no_violations(executed_notebook, tmp_path):
    page = export(executed_notebook, tmp_path / "board_pack.html")
    assert page.read_text().count("<img") == 1 and f'alt="{ALT}"' in page.read_text()
    report = run_axe(page, tmp_path / "axe.json")
    assert report["violations"] == []
    assert {"image-alt", "color-contrast", "html-has-lang", "document-title"} <= set(report["passes"])
    assert report["tags"] == ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
    assert report["engine"] == "axe-core 4.14.1"
    # The lab template points at CDN scripts: the browser is offline and records each attempt.
    assert report["blocked_requests"] and all("cdnjs.cloudflare.com" in url for url in report["blocked_requests"])
    assert json.loads((tmp_path / "axe.json").read_text()) == report


def test_known_violations_are_reported_by_rule_id(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE, encoding="utf-8")
    report = run_axe(page)
    by_id = {rule["id"]: rule for rule in report["violations"]}
    assert set(by_id) == {"image-alt", "color-contrast"}
    assert by_id["image-alt"]["impact"] == "critical"
    assert by_id["image-alt"]["nodes"][0]["target"] == ["img"]
    assert by_id["color-contrast"]["nodes"][0]["target"] == ["p"]
    assert "insufficient color contrast of 2.32" in by_id["color-contrast"]["nodes"][0]["summary"]
    text = check.format_violations(report)
    assert "image-alt [critical]" in text and "at img" in text


def test_nbconvert_output_prompts_fail_colour_contrast(executed_notebook, tmp_path):
    """A real violation in real nbconvert output: the grey "Out[2]:" prompt is too faint."""
    page = export(executed_notebook, tmp_path / "board_pack.html", prompts=True)
    report = run_axe(page)
    assert [rule["id"] for rule in report["violations"]] == ["color-contrast"]
    targets = [" ".join(node["target"]) for node in report["violations"][0]["nodes"]]
    assert targets and all("jp-OutputPrompt" in target for target in targets)


def test_nbconvert_placeholder_alt_text_fails_the_packs_own_rule(executed_notebook, tmp_path):
    """axe accepts nbconvert's "No description has been provided" alt; the pack does not."""
    nb = copy.deepcopy(executed_notebook)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("image/png", None)
    page = export(nb, tmp_path / "board_pack.html")
    assert 'alt="No description has been provided for this image"' in page.read_text()
    report = run_axe(page)
    assert [rule["id"] for rule in report["violations"]] == ["boardpack-meaningful-alt"], check.format_violations(
        report
    )
    assert "image-alt" in report["passes"]
    assert "No description has been provided" in report["violations"][0]["nodes"][0]["summary"]


def test_requests_leaving_the_machine_are_blocked_and_recorded(tmp_path):
    page = tmp_path / "remote.html"
    page.write_text(
        GOOD_PAGE.replace("</main>", '<img alt="Logo of the ICB" src="http://example.invalid/logo.png"></main>')
    )
    report = run_axe(page)
    assert report["blocked_requests"] == ["http://example.invalid/logo.png"]


def test_screenshots_of_the_page_and_of_one_element(executed_notebook, tmp_path):
    page = export(executed_notebook, tmp_path / "board_pack.html")
    first_screen = screenshot(page, tmp_path / "cover.png", width=1000, height=700)
    assert png_size(first_screen) == (1000, 700)
    whole = screenshot(page, tmp_path / "whole.png", full_page=True, width=1000, height=300)
    width, height = png_size(whole)
    assert width == 1000 and height > 300  # the figure and table make the page longer than one screen
    table = screenshot(page, tmp_path / "table.png", selector="table", width=1000)
    table_width, table_height = png_size(table)
    assert 0 < table_width < 1000 and 0 < table_height < 300
    with pytest.raises(BrowserRunError, match="no element matches the selector h6.missing"):
        screenshot(page, tmp_path / "none.png", selector="h6.missing")


def test_missing_browser_is_a_clear_setup_error(tmp_path, monkeypatch):
    page = tmp_path / "p.html"
    page.write_text(GOOD_PAGE)
    monkeypatch.setattr(check, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(BrowserSetupError, match=r"no-chromium does not exist: run `make tools/a11y"):
        run_axe(page)
    with pytest.raises(FileNotFoundError, match="no HTML file"):
        run_axe(tmp_path / "absent.html")


def test_check_command_exit_codes_and_output(tmp_path):
    runner = CliRunner()
    good = tmp_path / "QWU" / "2026-27-Q2"
    good.mkdir(parents=True)
    (good / "board_pack.html").write_text(GOOD_PAGE, encoding="utf-8")
    (good / "appendix").mkdir()
    (good / "appendix" / "participants.csv").write_text("Place,Participants\nNorth,610\nSouth,625\n")
    result = runner.invoke(app, ["check", str(good), "--report", str(tmp_path / "good.json")])
    assert result.exit_code == 0, result.output
    assert "0 rule(s) violated" in result.output and "0 finding(s)" in result.output
    assert json.loads((tmp_path / "good.json").read_text())["violations"] == []

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "board_pack.html").write_text(BAD_PAGE.replace("</main>", "<p>NHS number 943 476 5919</p></main>"))
    result = runner.invoke(app, ["check", str(bad), "--report", str(tmp_path / "bad.json")])
    assert result.exit_code == 1
    assert "image-alt [critical]" in result.output and "color-contrast [serious]" in result.output
    assert "nhs_number: NHS number ending 5919" in result.output

    forbidden = tmp_path / "dob.txt"
    forbidden.write_text("2001-02-03\n")
    (good / "appendix" / "born.csv").write_text("Date\n03/02/2001\n")
    result = runner.invoke(
        app, ["check", str(good), "--report", str(tmp_path / "g2.json"), "--forbidden-values", str(forbidden)]
    )
    assert result.exit_code == 1 and "appendix/born.csv: row 2, column 'Date': forbidden_value" in result.output

    result = runner.invoke(app, ["check", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "board_pack.html does not exist" in result.output
    result = runner.invoke(app, ["check", "--icb", "QWU"])
    assert result.exit_code == 2 and "both --icb and --quarter" in result.output
    result = runner.invoke(app, ["check", "--icb", "QWU", "--quarter", "2026/27 Q9"])
    assert result.exit_code == 2 and "--quarter" in result.output


def test_pack_dir_for_follows_the_publish_layout():
    from helpers.paths import REPORTS_DIR
    from helpers.quarters import parse

    assert pack_dir_for("qwu", "2026/27 Q2") == REPORTS_DIR / "QWU" / parse("2026/27 Q2").id
