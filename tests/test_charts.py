"""helpers.charts: house style, determinism, MDC colours, alt text in Jupyter and nbconvert HTML."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import subprocess
import sys
import textwrap
import warnings

import matplotlib.colors as mcolors
import nbformat
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from matplotlib.text import Text
from PIL import Image
from test_spc import RNORM_20  # R: set.seed(123); rnorm(20), the NHSRplotthedots test series

from helpers import charts
from helpers.charts import (
    ASSURANCE_ALT,
    MDC_COLOURS,
    SERIES_COLOURS,
    VARIATION_ALT,
    Chart,
    assurance_icon,
    bar_chart,
    line_chart,
    representation_chart,
    spc_chart,
    variation_icon,
)
from helpers.paths import PROJ_ROOT
from helpers.spc import spc
from helpers.targets import PlanBaseline

MONTHS_20 = pd.date_range("2024-04-01", periods=20, freq="MS")


@pytest.fixture(scope="module")
def rqm_frame() -> pd.DataFrame:
    ae = pd.read_csv(PROJ_ROOT / "tests" / "data" / "spc" / "ae_attendances.csv", dtype={"type": str})
    rqm = ae[(ae["org_code"] == "RQM") & (ae["type"] == "1") & (ae["period"] < "2018-04-01")]
    return spc(rqm["breaches"], rqm["period"], improvement_direction="decrease", target=1200)


@pytest.fixture(scope="module")
def signal_frame() -> pd.DataFrame:
    """Points of every kind: an outlier high (improvement) and a run below the mean (concern)."""
    values = list(RNORM_20)
    values[3] = 6.0
    values[12:20] = [-1.0] * 8
    return spc(values, MONTHS_20)


def bars_frame() -> pd.DataFrame:
    return pd.DataFrame({"Trust": ["UHCW", "George Eliot", "SWFT", "CWPT"], "Recruits": [12345, "*", 870, 2300.0]})


def representation_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Ethnic group": ["Asian", "Black", "White"],
            "participants": [0.08, "*", 0.85],
            "population": [0.12, 0.04, 0.78],
        }
    )


def all_charts(rqm_frame) -> list[Chart]:
    months = pd.date_range("2025-04-01", periods=6, freq="MS")
    return [
        spc_chart(rqm_frame, "Breaches are stable", "4-hour breaches", "decrease"),
        variation_icon("improvement_high"),
        assurance_icon("inconsistent"),
        bar_chart(bars_frame(), "Trust", "Recruits", "UHCW recruited most", unit="Participants"),
        line_chart(pd.DataFrame({"month": months, "n": [1, 2, 3, 5, 8, 13]}), "month", "n", "Rising", target=10),
        representation_chart(representation_frame(), "Ethnic group", "participants", "population", "Under-represented"),
    ]


# -- house style --------------------------------------------------------------------------------


def test_every_chart_is_a4_width_with_no_text_under_9pt(rqm_frame):
    for chart in all_charts(rqm_frame):
        width = chart.figure.get_figwidth()
        assert width == pytest.approx(charts.FIGURE_WIDTH_IN) or width == pytest.approx(charts.ICON_SIZE_IN)
        chart.figure.draw_without_rendering()  # lay out, so tick labels exist
        sizes = [t.get_fontsize() for t in chart.figure.findobj(Text) if t.get_text().strip()]
        assert sizes or chart.alt_text == ASSURANCE_ALT["inconsistent"], chart.title  # that icon has no letter
        assert all(size >= charts.MIN_FONT_PT for size in sizes), (chart.title, sizes)


def test_nothing_is_clipped_at_the_figure_edges(rqm_frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = spc([120, 135, 128, 150, 149, 160, 171, 180, 178, 210], MONTHS_20[:10], target=200)
    crowded = spc_chart(trial, "A long title " * 12, "participants recruited", "increase")
    assert len(crowded.figure.legends[0].get_texts()) == 6  # mean, limits, three point types, target
    # a run chart with its trajectory, projection and a restated point: four long legend entries
    dates = quarter_starts("2025/26 Q1", "2026/27 Q2")
    projection = pd.DataFrame({"Date": dates[-1:] + [pd.Timestamp("2027-04-01")], "Fit": [6.0, 8.0]})
    run = line_chart(
        pd.DataFrame({"QuarterStart": dates, "Rate": [1.0, 2, 3, 4, 5, 6], "Plan": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}),
        "QuarterStart",
        "Rate",
        "Rate",
        unit="Portfolio participants per 10,000",
        target="Plan",
        target_label="Plan trajectory, from 210 in 2022/23 Q2",
        projection=projection.assign(Low=projection["Fit"] - 1, High=projection["Fit"] + 1),
        restated=["2026-27-Q1"],
    )
    for chart in all_charts(rqm_frame) + [crowded, run]:
        pixels = np.asarray(Image.open(io.BytesIO(chart.png_bytes())).convert("L"))
        # Anything cut off at an edge leaves ink in the outermost pixels; the border must be white.
        border = np.concatenate(
            [pixels[:2].ravel(), pixels[-2:].ravel(), pixels[:, :2].ravel(), pixels[:, -2:].ravel()]
        )
        assert border.min() == 255, chart.title


def _linear(hex_colour: str) -> np.ndarray:
    rgb = np.array(mcolors.to_rgb(hex_colour))
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _contrast_with_white(hex_colour: str) -> float:
    luminance = float(np.dot([0.2126, 0.7152, 0.0722], _linear(hex_colour)))
    return 1.05 / (luminance + 0.05)


# Machado, Oliveira & Fernandes (2009) simulation matrices at full severity, on linear RGB.
CVD = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
    "typical": np.eye(3),
}


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        linear_rgb, 0, 1
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_series_colours_contrast_with_white_and_stay_apart_for_colour_blind_readers():
    for colour in SERIES_COLOURS:
        assert _contrast_with_white(colour) >= 3.0, colour  # WCAG 1.4.11 non-text contrast
    for (a, b), (name, matrix) in itertools.product(itertools.combinations(SERIES_COLOURS, 2), CVD.items()):
        distance = np.linalg.norm(_lab(matrix @ _linear(a)) - _lab(matrix @ _linear(b)))
        assert distance >= 15, (a, b, name, distance)


def test_series_are_also_told_apart_by_line_style_and_marker():
    assert len(set(charts.SERIES_STYLES)) == len(SERIES_COLOURS) == len(set(charts.SERIES_MARKERS))


# -- determinism --------------------------------------------------------------------------------


def test_same_data_gives_identical_png_bytes(rqm_frame):
    first = spc_chart(rqm_frame, "Breaches are stable", "4-hour breaches", "decrease").png_bytes()
    second = spc_chart(rqm_frame.copy(), "Breaches are stable", "4-hour breaches", "decrease").png_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second
    assert b"Software" not in first and b"matplotlib" not in first.lower()
    different = spc_chart(rqm_frame, "Breaches are stable!", "4-hour breaches", "decrease").png_bytes()
    assert different != first


@pytest.mark.integration
def test_png_is_identical_in_a_fresh_process(rqm_frame):
    here = bar_chart(bars_frame(), "Trust", "Recruits", "UHCW recruited most").png_bytes()
    script = textwrap.dedent(
        """
        import sys, pandas as pd
        from helpers.charts import bar_chart
        frame = pd.DataFrame({"Trust": ["UHCW", "George Eliot", "SWFT", "CWPT"], "Recruits": [12345, "*", 870, 2300.0]})
        sys.stdout.buffer.write(bar_chart(frame, "Trust", "Recruits", "UHCW recruited most").png_bytes())
        """
    )
    there = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, timeout=120).stdout
    assert there == here


def test_svg_is_deterministic_without_dates(rqm_frame):
    first = spc_chart(rqm_frame, "Stable", "breaches", "decrease").svg_text()
    second = spc_chart(rqm_frame, "Stable", "breaches", "decrease").svg_text()
    assert first == second
    assert "<dc:date>" not in first and "Matplotlib" not in first


def test_rendering_leaves_global_matplotlib_settings_alone(rqm_frame):
    import matplotlib

    before = matplotlib.rcParams["font.size"], matplotlib.rcParams["svg.hashsalt"]
    spc_chart(rqm_frame, "Stable", "breaches", "decrease").png_bytes()
    assert (matplotlib.rcParams["font.size"], matplotlib.rcParams["svg.hashsalt"]) == before


def test_save_by_suffix(tmp_path):
    chart = variation_icon("common_cause")
    assert chart.save(tmp_path / "icon.png").read_bytes() == chart.png_bytes()
    assert chart.save(tmp_path / "icon.svg").read_text(encoding="utf-8").startswith("<?xml")
    with pytest.raises(ValueError, match="must end .png or .svg"):
        chart.save(tmp_path / "icon.jpg")


# -- the SPC chart ------------------------------------------------------------------------------


def _scatter_colours(chart: Chart) -> set[str]:
    ax = chart.figure.axes[0]
    return {mcolors.to_hex(c) for collection in ax.collections for c in collection.get_facecolors()}


def test_spc_chart_colours_points_by_point_type_in_mdc_colours(signal_frame):
    chart = spc_chart(signal_frame, None, "recruits", "increase")
    kinds = set(signal_frame["point_type"])
    assert kinds == {"common_cause", "special_cause_improvement", "special_cause_concern"}
    assert _scatter_colours(chart) == {MDC_COLOURS[k] for k in kinds}
    # each point is drawn exactly once, in its type's colour
    ax = chart.figure.axes[0]
    for collection in ax.collections:
        colour = mcolors.to_hex(collection.get_facecolors()[0])
        kind = next(k for k in kinds if MDC_COLOURS[k] == colour)
        assert len(collection.get_offsets()) == int((signal_frame["point_type"] == kind).sum())


def test_spc_chart_neutral_uses_purple(signal_frame):
    neutral = spc(signal_frame["value"], signal_frame["date"], improvement_direction="neutral")
    chart = spc_chart(neutral, "Special cause", "recruits", "neutral")
    assert _scatter_colours(chart) == {MDC_COLOURS["common_cause"], MDC_COLOURS["special_cause_neutral_high"]}


def test_spc_chart_draws_target_red_dashed_and_says_so(rqm_frame):
    chart = spc_chart(rqm_frame, None, "4-hour breaches", "decrease")
    lines = chart.figure.axes[0].get_lines()
    targets = [line for line in lines if mcolors.to_hex(line.get_color()) == MDC_COLOURS["target"]]
    assert len(targets) == 1 and targets[0].get_linestyle() == "--"
    assert set(targets[0].get_ydata()) == {1200}
    assert chart.title == (
        "4-hour breaches: common cause variation; the target will sometimes be met and sometimes missed (hit and miss)"
    )


def test_spc_chart_alt_text_states_the_key_values(rqm_frame):
    alt = spc_chart(rqm_frame, "Stable", "4-hour breaches", "decrease").alt_text
    for fragment in [
        "Statistical process control chart of 4-hour breaches",
        "24 points from April 2016 to March 2018",
        "Mean 1,545, process limits 740 to 2,350",
        "common cause variation",
        "Target 1,200",
        "hit and miss",
    ]:
        assert fragment in alt


def test_spc_chart_draws_the_plan_baseline_labelled(rqm_frame):
    baseline = PlanBaseline(pd.Timestamp("2016-07-01"), 1500.0, "Plan baseline 1500 (2016/17 Q2)")
    chart = spc_chart(rqm_frame, "Stable", "4-hour breaches", "decrease", plan_baseline=baseline)
    ax = chart.figure.axes[0]
    dark_blue = charts.NHS_COLOURS["dark_blue"]
    lines = [line for line in ax.get_lines() if mcolors.to_hex(line.get_color()) == dark_blue.lower()]
    assert len(lines) == 1 and lines[0].get_linestyle() == ":" and set(lines[0].get_ydata()) == {1500}
    points = [c for c in ax.collections if mcolors.to_hex(c.get_facecolors()[0]) == dark_blue.lower()]
    assert len(points) == 1 and list(points[0].get_offsets()[0])[1] == 1500
    labels = [text.get_text() for text in chart.figure.legends[0].get_texts()]
    assert "Plan baseline 1500 (2016/17 Q2)" in labels
    assert chart.alt_text.endswith("Plan baseline 1500 (2016/17 Q2).")
    plain = spc_chart(rqm_frame, "Stable", "4-hour breaches", "decrease")
    assert "Plan baseline" not in plain.alt_text and len(plain.figure.axes[0].get_lines()) == len(ax.get_lines()) - 1


def test_spc_chart_notes_trial_limits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = spc(RNORM_20[:8], MONTHS_20[:8])
    chart = spc_chart(frame, "Too early to tell", "recruits", "increase")
    labels = [text.get_text() for text in chart.figure.legends[0].get_texts()]
    assert "Trial limits (under 12 points)" in labels
    assert "trial process limits" in chart.alt_text


def test_spc_chart_alt_text_counts_special_causes(signal_frame):
    alt = spc_chart(signal_frame, None, "recruits", "increase").alt_text
    improvement = int((signal_frame["point_type"] == "special_cause_improvement").sum())
    concern = int((signal_frame["point_type"] == "special_cause_concern").sum())
    assert f"{improvement + concern} of 20 points show special cause variation" in alt
    assert f"{improvement} improvement, {concern} concern" in alt


# -- icons --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIATION_ALT))
def test_variation_icons(name):
    chart = variation_icon(name)
    assert chart.alt_text == VARIATION_ALT[name]
    assert chart.figure.get_figwidth() == chart.figure.get_figheight()  # square
    ring = chart.figure.axes[0].patches[0]
    expected = {
        "common": MDC_COLOURS["common_cause"],
        "improvement": MDC_COLOURS["special_cause_improvement"],
        "concern": MDC_COLOURS["special_cause_concern"],
        "neutral": MDC_COLOURS["special_cause_neutral_high"],
    }[name.split("_")[0]]
    assert mcolors.to_hex(ring.get_edgecolor()) == expected
    letters = [t.get_text() for t in chart.figure.findobj(Text) if t.get_text() in {"H", "L"}]
    assert letters == ([] if name == "common_cause" else ["H" if name.endswith("high") else "L"])


def test_variation_icon_alt_text_example():
    assert variation_icon("improvement_high").alt_text == "Special cause improvement (high)"


@pytest.mark.parametrize("name", sorted(ASSURANCE_ALT))
def test_assurance_icons(name):
    chart = assurance_icon(name)
    assert chart.alt_text == ASSURANCE_ALT[name]
    letters = [t.get_text() for t in chart.figure.findobj(Text) if t.get_text() in {"P", "F"}]
    assert letters == {"consistent_pass": ["P"], "consistent_fail": ["F"], "inconsistent": []}[name]


def test_unknown_icon_names_are_errors():
    with pytest.raises(ValueError, match="not one of"):
        variation_icon("improvement")
    with pytest.raises(ValueError, match="show no icon"):
        assurance_icon(None)


# -- bar, line and representation charts --------------------------------------------------------


def test_bar_chart_labels_with_thousands_and_shows_suppressed_star():
    chart = bar_chart(bars_frame(), "Trust", "Recruits", "UHCW recruited most", unit="Participants", highlight="UHCW")
    ax = chart.figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["UHCW", "CWPT", "SWFT", "George Eliot"]
    assert [t.get_text() for t in ax.texts] == ["12,345", "2,300", "870", "*"]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [12345, 2300, 870, 0]
    colours = [mcolors.to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colours[0] == charts.NHS_COLOURS["nhs_blue"].lower()
    assert set(colours[1:]) == {charts.NHS_COLOURS["mid_grey"].lower()}
    assert chart.alt_text == (
        "Horizontal bar chart of Participants by Trust, 4 bars, largest first: UHCW 12,345; CWPT 2,300; "
        "SWFT 870; George Eliot * (suppressed)."
    )
    notes = [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]
    assert notes == ["* 1 to 7 people: suppressed to protect confidentiality."]


def test_bar_chart_bad_cell_names_row_and_column():
    frame = pd.DataFrame({"Trust": ["A", "B"], "Recruits": [5, "n/a"]})
    with pytest.raises(ValueError, match=r"row 1, column 'Recruits': 'n/a' is not a number"):
        bar_chart(frame, "Trust", "Recruits", "t")
    with pytest.raises(ValueError, match=r"column\(s\) \['Nope'\] not in the frame"):
        bar_chart(frame, "Trust", "Nope", "t")


def test_line_chart_against_a_target_and_a_trajectory():
    months = pd.date_range("2025-04-01", periods=4, freq="MS")
    frame = pd.DataFrame({"month": months, "recruits": [100, 1200, 2500, 3900], "plan": [1000, 2000, 3000, 4000]})
    flat = line_chart(frame, "month", "recruits", "Behind target", unit="Recruits", target=5000)
    assert flat.alt_text == "Line chart of Recruits: from 100 in April 2025 to 3,900 in July 2025. Target 5,000."
    target_lines = [
        line for line in flat.figure.axes[0].get_lines() if mcolors.to_hex(line.get_color()) == MDC_COLOURS["target"]
    ]
    assert len(target_lines) == 1
    trajectory = line_chart(frame, "month", "recruits", "Close to plan", target="plan", target_label="Trajectory")
    assert trajectory.alt_text.endswith("Trajectory for July 2025: 4,000.")
    red = [
        line
        for line in trajectory.figure.axes[0].get_lines()
        if mcolors.to_hex(line.get_color()) == MDC_COLOURS["target"]
    ]
    assert list(red[0].get_ydata()) == [1000, 2000, 3000, 4000]


def test_line_chart_series_use_distinct_colours_and_styles():
    months = pd.date_range("2025-04-01", periods=3, freq="MS")
    frame = pd.DataFrame({"m": list(months) * 2, "site": ["A"] * 3 + ["B"] * 3, "n": [1, 2, 3, 3, 2, 1]})
    chart = line_chart(frame, "m", "n", "A rising, B falling", series="site")
    lines = chart.figure.axes[0].get_lines()
    assert [mcolors.to_hex(line.get_color()) for line in lines] == [c.lower() for c in SERIES_COLOURS[:2]]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert "A: from 1 in April 2025 to 3 in June 2025; B: from 3 in April 2025 to 1 in June 2025" in chart.alt_text


def test_representation_chart_ratio_and_alt_text():
    chart = representation_chart(
        representation_frame(), "Ethnic group", "participants", "population", "Under-represented"
    )
    texts = [t.get_text() for t in chart.figure.axes[0].texts]
    assert "×0.67" in texts and "×1.09" in texts and "–" in texts and "*" in texts
    assert "Asian 8.0% of participants vs 12.0% of population (ratio 0.67)" in chart.alt_text
    assert "Black * (suppressed) of participants vs 4.0% of population (no ratio)" in chart.alt_text


def test_representation_chart_rejects_percentages_given_as_whole_numbers():
    frame = pd.DataFrame({"g": ["a"], "p": [45.0], "q": [0.5]})
    with pytest.raises(ValueError, match=r"row 0, column 'p': 45.0 is not a share between 0 and 1"):
        representation_chart(frame, "g", "p", "q", "t")


def test_chart_needs_alt_text():
    with pytest.raises(ValueError, match="alt_text"):
        Chart(figure=variation_icon("common_cause").figure, title="t", alt_text=" ")


# -- Jupyter display and nbconvert HTML ---------------------------------------------------------


def test_mimebundle_carries_png_and_alt_text():
    chart = variation_icon("concern_low")
    data, metadata = chart._repr_mimebundle_()
    assert metadata["image/png"]["alt"] == "Special cause concern (low)"
    img = BeautifulSoup(data["text/html"], "html.parser").find("img")
    assert img["alt"] == "Special cause concern (low)"
    assert img["src"] == "data:image/png;base64," + data["image/png"]


def test_alt_text_is_escaped_in_html():
    chart = Chart(figure=variation_icon("common_cause").figure, title="t", alt_text='Values "<b>" & more')
    img = BeautifulSoup(chart._repr_mimebundle_()[0]["text/html"], "html.parser").find("img")
    assert img["alt"] == 'Values "<b>" & more'
    assert img.find("b") is None


@pytest.mark.integration
def test_executed_notebook_exports_to_html_with_the_alt_text():
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd\n"
            "from helpers.charts import bar_chart\n"
            "frame = pd.DataFrame({'Trust': ['UHCW', 'SWFT'], 'Recruits': [1500, '*']})\n"
            "bar_chart(frame, 'Trust', 'Recruits', 'UHCW recruited most')"
        )
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1 and outputs[0]["output_type"] == "execute_result"  # one image, not two
    expected = "Horizontal bar chart of Recruits by Trust, 2 bars, largest first: UHCW 1,500; SWFT * (suppressed)."
    for template in ("lab", "classic"):
        body, _ = HTMLExporter(template_name=template).from_notebook_node(notebook)
        images = BeautifulSoup(body, "html.parser").find_all("img")
        assert [img.get("alt") for img in images] == [expected], template


def test_titles_are_built_from_the_data_when_not_given():
    assert bar_chart(bars_frame(), "Trust", "Recruits", None, unit="participants").title == (
        "UHCW has the highest participants: 12,345"
    )
    months = pd.date_range("2025-04-01", periods=4, freq="MS")
    frame = pd.DataFrame({"month": months, "recruits": [100, 1200, 2500, 3900], "plan": [1000, 2000, 3000, 4000]})
    assert line_chart(frame, "month", "recruits", None, unit="recruits", target=5000).title == (
        "Recruits rose from 100 to 3,900 between April 2025 and July 2025, below the target of 5,000"
    )
    assert line_chart(frame, "month", "recruits", None, target="plan").title.endswith("below the target of 4,000")
    assert representation_chart(representation_frame(), "Ethnic group", "participants", "population", None).title == (
        "Asian has the lowest ratio of share of participants to share of population (0.67)"
    )


def test_line_chart_keeps_category_order_and_breaks_at_gaps():
    frame = pd.DataFrame({"quarter": ["2025/26 Q3", "2025/26 Q4", "2026/27 Q1", "2026/27 Q2"], "n": [5, None, 7, 9]})
    chart = line_chart(frame, "quarter", "n", None, unit="studies")
    line = chart.figure.axes[0].get_lines()[0]
    assert np.isnan(line.get_ydata()[1])  # a gap, not a bridge
    assert chart.title == "Studies rose from 5 to 9 between 2025/26 Q3 and 2026/27 Q2"
    assert chart.alt_text == "Line chart of studies: from 5 in 2025/26 Q3 to 9 in 2026/27 Q2."


def test_line_chart_numeric_x_is_not_read_as_dates():
    frame = pd.DataFrame({"year": [2024, 2022, 2023], "n": [3, 1, 2]})
    chart = line_chart(frame, "year", "n", "Rising")
    assert list(chart.figure.axes[0].get_lines()[0].get_xdata()) == [2022, 2023, 2024]
    assert chart.alt_text == "Line chart of n: from 1 in 2022 to 3 in 2024."


def test_spc_chart_leaves_a_gap_for_a_missing_value():
    values = list(RNORM_20)
    values[5] = np.nan
    chart = spc_chart(spc(values, MONTHS_20), "Stable", "recruits", "increase")
    ax = chart.figure.axes[0]
    assert np.isnan(ax.get_lines()[0].get_ydata()[5])
    assert sum(len(c.get_offsets()) for c in ax.collections) == 19
    assert "19 points from April 2024 to November 2025" in chart.alt_text


# -- quarterly series and money ---------------------------------------------------------------------


def quarter_starts(first: str, last: str) -> list:
    from helpers.quarters import quarter_range

    return [pd.Timestamp(q.start) for q in quarter_range(first, last)]


def x_labels(chart: Chart) -> list[str]:
    chart.png_bytes()  # draws the figure, so the tick labels are laid out
    axis = chart.figure.axes[0].xaxis
    return [t.get_text() for t in axis.get_ticklabels(minor=True) + axis.get_ticklabels() if t.get_text()]


def test_quarterly_spc_chart_has_financial_year_axis_and_quarter_alt_text():
    dates = quarter_starts("2024/25 Q1", "2026/27 Q2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = spc(RNORM_20[: len(dates)], dates)
    chart = spc_chart(frame, None, "studies", "increase")
    assert x_labels(chart) == ["2024/25", "2025/26", "2026/27"]
    assert chart.figure.axes[0].get_xlabel() == "Financial year"
    assert "10 points from 2024/25 Q1 to 2026/27 Q2" in chart.alt_text
    assert "in 2026/27 Q2:" in chart.alt_text
    assert "July 2026" not in chart.alt_text and "April 2024" not in chart.alt_text


def test_quarterly_line_chart_uses_quarter_labels_and_a_long_history_at_most_8_year_labels():
    dates = quarter_starts("2013/14 Q1", "2026/27 Q2")
    frame = pd.DataFrame({"QuarterStart": dates, "Days": np.linspace(130, 115, len(dates))})
    chart = line_chart(frame, "QuarterStart", "Days", None, unit="days")
    labels = x_labels(chart)
    assert 2 <= len(labels) <= 8
    assert all(re.fullmatch(r"20\d\d/\d\d", label) for label in labels), labels
    assert labels[0] == "2013/14" and labels[-1] == "2025/26"  # every second year of 14
    assert chart.alt_text == "Line chart of days: from 130 in 2013/14 Q1 to 115 in 2026/27 Q2."
    assert chart.title == "Days fell from 130 to 115 between 2013/14 Q1 and 2026/27 Q2"


def test_monthly_charts_keep_calendar_dates():
    months = pd.date_range("2025-04-01", periods=6, freq="MS")
    chart = line_chart(pd.DataFrame({"m": months, "n": [1, 2, 3, 5, 8, 13]}), "m", "n", "Rising")
    assert "from 1 in April 2025 to 13 in September 2025" in chart.alt_text
    assert not any("/" in label for label in x_labels(chart))
    assert charts.is_quarterly(pd.Series(quarter_starts("2025/26 Q1", "2026/27 Q2")))
    assert not charts.is_quarterly(pd.Series(months))
    assert not charts.is_quarterly(pd.Series(pd.to_datetime(["2025-04-01 12:00", "2025-07-01 00:00"])))


def test_money_charts_state_pounds_by_the_one_money_rule():
    dates = quarter_starts("2025/26 Q1", "2026/27 Q2")
    frame = pd.DataFrame(
        {
            "QuarterStart": dates,
            "Income": [3_100_000, 3_300_000, 3_500_000, 3_700_000, 3_846_889, 3_935_113.45],
            "Trajectory": [3_500_000, 3_800_000, 4_100_000, 4_400_000, 4_600_000, 4_851_965],
        }
    )
    chart = line_chart(frame, "QuarterStart", "Income", None, unit="GBP, rolling 12 months", target="Trajectory")
    assert chart.alt_text == (
        "Line chart of GBP, rolling 12 months: from £3.10m in 2025/26 Q1 to £3.94m in 2026/27 Q2. "
        "Target for 2026/27 Q2: £4.85m."
    )
    assert "below the target of £4.85m" in chart.title
    chart.png_bytes()
    ticks = [t.get_text() for t in chart.figure.axes[0].yaxis.get_ticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"£\d+\.\d\dm|£\d+(\.\d)?m", t) for t in ticks), ticks
    assert chart.figure.axes[0].get_ylabel().startswith("GBP")


def test_money_ticks_show_every_step_exactly_on_one_scale():
    formatter = charts.MoneyFormatter()
    assert formatter.format_ticks([3_000_000, 3_250_000, 3_500_000]) == ["£3.00m", "£3.25m", "£3.50m"]
    assert formatter.format_ticks([0, 1_000_000, 2_000_000]) == ["£0m", "£1m", "£2m"]
    assert formatter.format_ticks([0, 250_000, 500_000]) == ["£0k", "£250k", "£500k"]
    assert formatter.format_ticks([-500_000, 0, 500_000]) == ["-£500k", "£0k", "£500k"]
    assert formatter.format_ticks([0, 500, 1000]) == ["£0.0k", "£0.5k", "£1.0k"]


def test_money_bar_chart_labels_bars_in_pounds():
    frame = pd.DataFrame({"Trust": ["A", "B"], "Income": [848_377.45, 1_234_567.0]})
    chart = bar_chart(frame, "Trust", "Income", None, unit="GBP")
    assert chart.alt_text.endswith("B £1.23m; A £848k.")
    assert chart.title == "B has the highest GBP: £1.23m"


def test_spc_chart_target_label_names_the_target_line(rqm_frame):
    default = spc_chart(rqm_frame, "Stable", "4-hour breaches", "decrease")
    assert "Target 1,200" in [t.get_text() for t in default.figure.legends[0].get_texts()]
    named = spc_chart(rqm_frame, "Stable", "days", "decrease", target=150, target_label="National target: 150 days")
    labels = [t.get_text() for t in named.figure.legends[0].get_texts()]
    assert "National target: 150 days" in labels and "Target 150" not in labels


def test_spc_chart_dots_only_the_limits_of_a_period_under_12_points():
    """Rebased after 8 points: the first period's limits are trial limits (dotted), the current
    period's 14 points have process limits (dashed); the legend names both."""
    dates = pd.date_range("2018-04-01", periods=22, freq="QS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = spc(
            [10.0, 12, 11, 13, 12, 11, 10, 12] + [20.0, 22, 21, 23, 22, 21, 20, 22, 21, 23, 22, 21, 20, 22],
            dates,
            rebase=[dates[8]],
        )
    chart = spc_chart(frame, None, "studies", "increase")
    styles = {line.get_linestyle() for line in chart.figure.axes[0].get_lines()}
    assert {"--", ":"} <= styles
    labels = [t.get_text() for t in chart.figure.legends[0].get_texts()]
    assert "Process limits" in labels and "Trial limits (under 12 points)" in labels
    assert "process limits" in chart.alt_text and "trial process limits" not in chart.alt_text  # the current period


# -- projection overlay (helpers.projections.projection_points) ----------------------------------------


def _projection_of(frame: pd.DataFrame, x: str, y: str, target_quarter: str) -> pd.DataFrame:
    from helpers.projections import project, projection_points
    from helpers.quarters import Quarter

    values = pd.Series(frame[y].to_numpy(dtype=float), index=[Quarter.of_date(d).id for d in frame[x]])
    return projection_points(project(values, 200, target_quarter))


def test_projection_overlay_is_off_by_default_and_leaves_charts_unchanged(rqm_frame):
    dates = quarter_starts("2024/25 Q1", "2026/27 Q2")
    frame = pd.DataFrame({"QuarterStart": dates, "Days": np.linspace(130, 115, len(dates))})
    assert (
        line_chart(frame, "QuarterStart", "Days", "T", unit="days").png_bytes()
        == line_chart(frame, "QuarterStart", "Days", "T", unit="days", projection=None).png_bytes()
    )
    assert (
        spc_chart(rqm_frame, "Stable", "breaches", "decrease").png_bytes()
        == spc_chart(rqm_frame, "Stable", "breaches", "decrease", projection=None).png_bytes()
    )


def test_line_chart_draws_the_projection_to_the_target_date():
    dates = quarter_starts("2023/24 Q1", "2026/27 Q2")
    frame = pd.DataFrame({"QuarterStart": dates, "Studies": [100.0 + 5 * i + (i % 2) for i in range(len(dates))]})
    points = _projection_of(frame, "QuarterStart", "Studies", "2027/28 Q4")
    plain = line_chart(frame, "QuarterStart", "Studies", "T", unit="studies")
    chart = line_chart(frame, "QuarterStart", "Studies", "T", unit="studies", projection=points)
    assert chart.png_bytes() != plain.png_bytes()
    assert x_labels(chart)[-1] == "2027/28"  # the axis runs to the target date
    assert "Trend projected (80% interval) to 2027/28 Q4:" in chart.alt_text
    legend = [t.get_text() for t in chart.figure.legends[0].get_texts()]
    assert "Trend projected (80% interval)" in legend


def test_spc_chart_draws_the_projection_to_the_target_date():
    dates = quarter_starts("2023/24 Q1", "2026/27 Q2")
    values = [100.0 + 5 * i + (i % 2) for i in range(len(dates))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = spc(values, dates)
    points = _projection_of(pd.DataFrame({"d": dates, "v": values}), "d", "v", "2027/28 Q4")
    chart = spc_chart(frame, None, "studies", "increase", projection=points, projection_label="Projection")
    assert x_labels(chart)[-1] == "2027/28"
    assert chart.alt_text.endswith(
        f"Projection to 2027/28 Q4: {points['Fit'].iloc[-1]:.0f} "
        f"(interval {points['Low'].iloc[-1]:.0f} to {points['High'].iloc[-1]:.0f})."
    )


def test_projection_needs_dates_and_its_columns():
    frame = pd.DataFrame({"q": ["a", "b", "c"], "n": [1, 2, 3]})
    good = pd.DataFrame({"Date": pd.to_datetime(["2026-07-01"]), "Fit": [1.0], "Low": [0.5], "High": [1.5]})
    with pytest.raises(ValueError, match="dates"):
        line_chart(frame, "q", "n", "T", projection=good)
    with pytest.raises(ValueError):
        line_chart(frame, "q", "n", "T", projection=good.drop(columns="Low"))


# -- restated points ----------------------------------------------------------------------------


def _rings(chart: Chart) -> list:
    return [c for c in chart.figure.axes[0].collections if c.get_gid() == "restated"]


def _legend(chart: Chart) -> list[str]:
    return [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]


def test_spc_chart_rings_restated_points_in_black_with_one_legend_entry():
    import matplotlib.dates as mdates

    dates = quarter_starts("2024/25 Q1", "2026/27 Q2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = spc(RNORM_20[: len(dates)], dates)
    plain = spc_chart(frame, "Studies", "studies", "increase")
    marked = spc_chart(
        frame, "Studies", "studies", "increase", restated=["2025-26-Q4", pd.Timestamp("2026-04-01"), "2030-31-Q1"]
    )
    (rings,) = _rings(marked)
    # both points ringed (a quarter id and a date; a quarter not drawn is ignored), at their values
    assert list(rings.get_offsets()[:, 0]) == list(mdates.date2num([dt.date(2026, 1, 1), dt.date(2026, 4, 1)]))
    assert list(rings.get_offsets()[:, 1]) == pytest.approx([RNORM_20[7], RNORM_20[8]])
    assert rings.get_facecolors().size == 0 or rings.get_facecolors()[:, 3].max() == 0  # hollow
    assert [mcolors.to_hex(c) for c in rings.get_edgecolors()] == ["#000000"]
    assert _legend(marked).count("Restated since the last pack") == 1
    assert _legend(marked) == _legend(plain) + ["Restated since the last pack"]
    assert marked.alt_text == plain.alt_text + " 2025/26 Q4 and 2026/27 Q1 restated since the last pack."
    assert not _rings(plain) and "Restated" not in " ".join(_legend(plain)) and "restated" not in plain.alt_text


def test_line_chart_rings_restated_points_and_says_which_quarters():
    import matplotlib.dates as mdates

    dates = quarter_starts("2025/26 Q1", "2026/27 Q2")
    frame = pd.DataFrame({"QuarterStart": dates, "Rate": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0]})
    plain = line_chart(frame, "QuarterStart", "Rate", "Rising", unit="per 10,000", target=5)
    marked = line_chart(
        frame, "QuarterStart", "Rate", "Rising", unit="per 10,000", target=5, restated=["2026-27-Q1", "2025-26-Q3"]
    )
    (rings,) = _rings(marked)  # 2025/26 Q3 has no value: nothing to ring there
    assert list(rings.get_offsets()[:, 0]) == list(mdates.date2num([dt.date(2026, 4, 1)]))
    assert list(rings.get_offsets()[:, 1]) == [5.0]
    assert _legend(marked) == _legend(plain) + ["Restated since the last pack"]
    assert marked.alt_text == plain.alt_text + " 2026/27 Q1 restated since the last pack."
    with pytest.raises(ValueError, match="restated points are marked on dates"):
        line_chart(frame.assign(Q=["a", "b", "c", "d", "e", "f"]), "Q", "Rate", "t", restated=["2026-27-Q1"])


def test_charts_without_restated_points_are_byte_identical_to_before(rqm_frame):
    dates = quarter_starts("2025/26 Q1", "2026/27 Q2")
    frame = pd.DataFrame({"QuarterStart": dates, "Rate": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    for make in (
        lambda **kw: spc_chart(rqm_frame, "Breaches", "4-hour breaches", "decrease", **kw),
        lambda **kw: line_chart(frame, "QuarterStart", "Rate", "Rising", **kw),
    ):
        before = make()
        for none in ({"restated": None}, {"restated": ()}, {"restated": ["2040-41-Q1"]}):
            after = make(**none)
            assert after.png_bytes() == before.png_bytes() and after.alt_text == before.alt_text


def test_a_projection_carries_the_plans_trajectory_to_the_target_date():
    dates = pd.date_range("2024-04-01", periods=6, freq="QS-APR")
    frame = pd.DataFrame(
        {"QuarterStart": dates, "Income": [1.0, 1.2, 1.3, 1.5, 1.6, 1.8], "Plan": [1.0, 1.2, 1.4, 1.6, 1.8, 2.0]}
    )
    future = pd.date_range(dates[-1], periods=4, freq="QS-APR")
    projection = pd.DataFrame(
        {
            "Quarter": ["q"] * 4,
            "Date": future,
            "Fit": [1.8, 1.95, 2.1, 2.25],
            "Low": [1.7, 1.8, 1.9, 2.0],
            "High": [1.9, 2.1, 2.3, 2.5],
            "Trajectory": [2.0, 2.2, 2.4, 2.6],
        }
    )
    chart = line_chart(frame, "QuarterStart", "Income", "Income", target="Plan", projection=projection)
    carried = [line for line in chart.figure.axes[0].get_lines() if line.get_gid() == "trajectory-to-target"]
    assert len(carried) == 1 and list(carried[0].get_ydata()) == [2.0, 2.2, 2.4, 2.6]
    assert re.search(r"The trajectory reaches 2\.60? by then\.", chart.alt_text), chart.alt_text
    without = line_chart(
        frame, "QuarterStart", "Income", "Income", target="Plan", projection=projection.drop(columns="Trajectory")
    )
    assert not [line for line in without.figure.axes[0].get_lines() if line.get_gid() == "trajectory-to-target"]
