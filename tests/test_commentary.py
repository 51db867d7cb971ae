"""helpers.commentary: analyst Markdown rendered safely, found by quarter and section."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from helpers.commentary import Commentary, CommentaryError, commentary_path, load_commentary, render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<svg onload=alert(1)>",
    "[x](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<iframe src=https://example.org></iframe>",
    "[x](vbscript:msgbox(1))",
]


def tags(rendered: str) -> list[str]:
    return [tag for tag, _ in elements(rendered)]


def elements(rendered: str) -> list[tuple[str, list]]:
    """(tag, attributes) of every element a browser would build from ``rendered``."""
    found: list[tuple[str, list]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(rendered)
    return found


@pytest.mark.parametrize("attack", ATTACKS)
def test_raw_html_and_script_links_never_become_markup(attack):
    rendered = render_markdown(attack)
    assert elements(rendered) == [("p", [])], rendered  # only the paragraph, no attributes: no a, img, svg, script


def test_the_four_classic_attacks_appear_as_text():
    assert render_markdown("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    assert render_markdown("<img src=x onerror=alert(1)>") == "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"
    assert render_markdown("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>\n"
    assert render_markdown("<svg onload=alert(1)>") == "<p>&lt;svg onload=alert(1)&gt;</p>\n"


def test_markdown_still_works():
    rendered = render_markdown("Recruitment **rose** in _Coventry_.\n\n- one\n- two\n\n[NIHR](https://www.nihr.ac.uk)")
    assert "<strong>rose</strong>" in rendered and "<em>Coventry</em>" in rendered
    assert "<ul>\n<li>one</li>" in rendered
    assert '<a href="https://www.nihr.ac.uk">NIHR</a>' in rendered


def test_tables_are_rendered():
    rendered = render_markdown("| Place | Studies |\n|---|---|\n| Coventry | 12 |")
    assert "<table>" in rendered and "<td>Coventry</td>" in rendered


def test_only_web_and_mail_links_keep_their_target():
    rendered = render_markdown("[a](https://x.org) [b](mailto:ri@nhs.net) [c](../secret.html) [d](file:///etc/passwd)")
    assert '<a href="https://x.org">a</a>' in rendered
    assert '<a href="mailto:ri@nhs.net">b</a>' in rendered
    assert "<a>c</a>" in rendered  # words kept, relative target dropped
    assert "file:" not in rendered.split("[d]")[0] and 'href="file' not in rendered


def test_images_become_their_alt_text_so_nothing_is_fetched():
    rendered = render_markdown("![recruitment chart](https://tracker.example/pixel.png)")
    assert "<img" not in rendered and "tracker.example" not in rendered
    assert "[image: recruitment chart]" in rendered


def test_quotes_in_a_link_cannot_break_out_of_the_attribute():
    rendered = render_markdown('[x](https://a.b/"onmouseover="alert(1))')
    assert 'onmouseover="' not in rendered


def test_headings_sit_below_the_section_headings():
    assert tags(render_markdown("# Big\n\n## Smaller\n\n###### Tiny")) == ["h4", "h5", "h6"]
    assert tags(render_markdown("### Income\n\ntext\n\n#### Detail")) == ["h4", "p", "h5"]


def test_render_markdown_needs_text():
    with pytest.raises(TypeError, match="expected text"):
        render_markdown(None)


# -- files -------------------------------------------------------------------------------------------
def test_commentary_path_uses_the_quarter_id(tmp_path):
    assert commentary_path(tmp_path, "2026/27 Q2", "10_research_activity") == (
        tmp_path / "2026-27-Q2" / "10_research_activity.md"
    )


def test_load_commentary_reads_and_renders(tmp_path):
    path = tmp_path / "2026-27-Q2" / "30_commercial.md"
    path.parent.mkdir()
    path.write_text("Income is **behind** the trajectory.\n\n<script>alert(1)</script>\n", encoding="utf-8")
    found = load_commentary(tmp_path, "2026/27Q2", "30_commercial")
    assert isinstance(found, Commentary) and found.path == path
    assert "<strong>behind</strong>" in found.html
    shown = found._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "<h3>Analyst commentary</h3>" in shown
    assert found._repr_markdown_() == shown  # Markdown front ends get the safe HTML too


def test_no_file_or_a_blank_file_means_no_commentary(tmp_path):
    assert load_commentary(tmp_path, "2026/27 Q2", "10_research_activity") is None
    path = tmp_path / "2026-27-Q2" / "10_research_activity.md"
    path.parent.mkdir()
    path.write_text("  \n\n", encoding="utf-8")
    assert load_commentary(tmp_path, "2026/27 Q2", "10_research_activity") is None


def test_a_byte_order_mark_is_not_shown(tmp_path):
    path = tmp_path / "2026-27-Q2" / "60_engagement.md"
    path.parent.mkdir()
    path.write_bytes("\ufeffWell attended.".encode("utf-8"))
    assert load_commentary(tmp_path, "2026/27 Q2", "60_engagement").html == "<p>Well attended.</p>\n"


def test_text_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "2026-27-Q2" / "60_engagement.md"
    path.parent.mkdir()
    path.write_bytes("Caf\xe9 meeting".encode("latin-1"))
    with pytest.raises(CommentaryError, match=r"60_engagement\.md: not UTF-8 text .* save it as UTF-8"):
        load_commentary(tmp_path, "2026/27 Q2", "60_engagement")


def test_the_shipped_example_commentary_renders_safely():
    from helpers.paths import PARAMS_DIR

    examples = sorted((PARAMS_DIR / "commentary").glob("*/*.md"))
    assert examples, "params/commentary/<quarter id>/<section>.md examples are part of the project"
    for path in examples:
        found = load_commentary(PARAMS_DIR / "commentary", path.parent.name, path.stem)
        assert found is not None and "<script" not in found.html
