"""helpers.commentary: analyst Markdown rendered safely, found by quarter and section."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

from helpers.commentary import Commentary, CommentaryError, commentary_path, load_commentary, render_markdown
from helpers.quarters import parse

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
    assert str(tmp_path) not in repr(found)  # text/plain: no absolute path in a section's outputs


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


# -- the example commentary agrees with the sample figures ------------------------------------------
def _example(section_id: str) -> str:
    from helpers.paths import PARAMS_DIR

    return " ".join((PARAMS_DIR / "commentary" / "2026-27-Q2" / f"{section_id}.md").read_text().split())


@pytest.fixture(scope="module")
def sample_figures(qwu_sample):
    from helpers.loading import load_data

    quarter = parse("2026/27 Q2")
    return load_data(qwu_sample, quarter), quarter


def _in_setup_opening_in(studies, quarter):
    planned = studies["PlannedOpeningDate"]
    return studies[
        studies["StudyStatus"].str.startswith("In Setup")
        & (planned >= pd.Timestamp(quarter.start))
        & (planned <= pd.Timestamp(quarter.end))
    ]


def test_research_activity_example_commentary_states_the_sample_figures(sample_figures):
    """Every figure in params/commentary/2026-27-Q2/10_research_activity.md, recomputed by the
    helpers from the sample (QWU, 2026/27 Q2). If the sample data change, update the commentary."""
    from helpers import kpi_activity

    data, quarter = sample_figures
    text = _example("10_research_activity")
    icb = "QWU"

    open_studies = kpi_activity.open_studies(data, quarter, icb)
    above = list(open_studies["PctOfBaseline"] > 100)
    run = len(above) - max(i for i, up in enumerate(above) if not up) - 1
    since = parse(open_studies["Quarter"].iloc[-run]).label
    assert f"above the pre-Covid baseline for {run} quarters, since {since}" in text

    new = kpi_activity.new_studies(data, quarter, icb).set_index("Quarter")["NewStudies"]
    before, now = int(new[quarter.previous().id]), int(new[quarter.id])
    assert now < before and f"dip in new studies this quarter, from {before} to {now}" in text

    pipeline = _in_setup_opening_in(data.studies[data.studies["NihrPortfolio"]], quarter.next())
    last_year = int(new[quarter.next().same_quarter_last_year().id])
    assert f"{len(pipeline)} portfolio studies in set-up plan to open in Q3, against {last_year}" in text

    by_setting = kpi_activity.open_studies_by_care_setting(data, quarter, icb).set_index("CareSetting")
    primary = int(by_setting.loc["primary_care", "OpenStudies"])
    total = int(by_setting["OpenStudies"].sum())
    assert total == int(open_studies["OpenStudies"].iloc[-1])
    assert round(total / primary) == 7 and f"one open study in seven ({primary} of {total})" in text
    year = [kpi_activity.open_studies_by_care_setting(data, q, icb) for q in parse("2023/24 Q1").financial_year()]
    counts = [int(f.set_index("CareSetting").loc["primary_care", "OpenStudies"]) for f in year]
    shares = [c / int(f["OpenStudies"].sum()) for c, f in zip(counts, year)]
    assert all(1 / 8 < s < 1 / 5.5 for s in shares)  # "much as in 2023/24"
    assert f"between {min(counts)} and {max(counts)} a quarter" in text

    studies = data.studies
    closed = studies["ActualClosureToRecruitmentDate"]
    early = studies[
        (studies["CareSetting"] == "community")
        & (closed >= pd.Timestamp(quarter.start))
        & (closed <= pd.Timestamp(quarter.end))
        & (closed < studies["PlannedClosureToRecruitmentDate"])
    ]
    assert len(early) == 2 and "Two community studies closed to recruitment before their planned dates" in text


def test_commercial_example_commentary_states_the_sample_figures(sample_figures):
    """The example commentary said "set-up time rose" while the sample fell 130 -> 115 days: every
    figure in 30_commercial.md is recomputed here from the sample."""
    from helpers import kpi_commercial
    from helpers.narrative import format_value
    from helpers.paths import PARAMS_DIR
    from helpers.targets import load_targets

    data, quarter = sample_figures
    text = _example("30_commercial")
    icb = "QWU"

    income = kpi_commercial.commercial_income(data, quarter, icb, targets=load_targets(PARAMS_DIR / "targets.yml"))
    latest = income.set_index("Quarter").loc[quarter.id]
    assert latest["Rolling12MonthsGBP"] < latest["TargetGBP"]
    assert "**behind the doubling trajectory**" in text
    assert (
        f"{format_value(latest['Rolling12MonthsGBP'], 'GBP')} in the 12 months to {quarter.label} "
        f"against a trajectory of {format_value(latest['TargetGBP'], 'GBP')}"
    ) in text

    commercial = data.studies[data.studies["StudyRoute"] == "Commercial"]
    pipeline = _in_setup_opening_in(commercial, quarter.next())
    specialties = pipeline["ManagingSpecialty"].value_counts()
    assert len(pipeline) == 8 and "Eight commercial studies in set-up plan to open in Q3" in text
    assert specialties.get("Cancer") == 1 and specialties.get("Respiratory Disorders") == 1
    assert "one in cancer and one in respiratory" in text

    setup = kpi_commercial.setup_time_summary(data, quarter, icb).set_index("Quarter")
    now, before = setup.loc[quarter.id], setup.loc[quarter.previous().id]
    assert now["MedianDays"] < before["MedianDays"] and " rose" not in text
    assert (
        f"fell this quarter, from {before['MedianDays']:.0f} to {now['MedianDays']:.0f} days "
        f"across {int(now['Studies'])} studies, but one study took {now['MaxDays']:.0f} days"
    ) in text


def test_html_comments_are_notes_the_pack_never_shows(tmp_path):
    folder = tmp_path / "2026-27-Q2"
    folder.mkdir()
    (folder / "30_commercial.md").write_text(
        "<!--\nnote to self: £4.02m\n-->\nIncome rose.<!-- inline note -->\n", encoding="utf-8"
    )
    shown = load_commentary(tmp_path, "2026/27 Q2", "30_commercial")
    assert shown.html == "<p>Income rose.</p>\n"
    assert "<!--" in shown.text  # the file as written
    (folder / "60_engagement.md").write_text("<!-- only notes -->\n\n", encoding="utf-8")
    assert load_commentary(tmp_path, "2026/27 Q2", "60_engagement") is None
    # an unclosed comment is not a note: it shows as text, so the analyst sees the slip
    (folder / "70_deliverables.md").write_text("<!-- forgot to close\n\nText.\n", encoding="utf-8")
    unclosed = load_commentary(tmp_path, "2026/27 Q2", "70_deliverables")
    assert "&lt;!-- forgot to close" in unclosed.html and "<!--" not in unclosed.html
