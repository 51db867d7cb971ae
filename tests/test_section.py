"""helpers.section: one call from a notebook's parameters to its quarter, data, targets and KPIs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import paths, section
from helpers.quarters import latest_complete, parse
from helpers.targets import TARGETS_FILE

BACKTEST = Path(__file__).parent / "backtest" / "data"
QUARTER = "2020/21 Q2"
ACTIVITY_TABLES = ("organisations", "studies", "recruitment")


def open_activity(**overrides):
    options = dict(quarter=QUARTER, data_dir=BACKTEST, tables=ACTIVITY_TABLES, targets_file=TARGETS_FILE)
    options.update(overrides)
    return section.open_section("10_research_activity", **options)


def test_open_section_loads_only_the_tables_named_and_the_sections_kpis():
    opened = open_activity()
    assert opened.quarter == parse(QUARTER) and opened.icb == "QWU" and opened.data_dir == BACKTEST.resolve()
    assert opened.data.studies is not None and opened.data.finance is None
    assert set(opened.scorecard["Section"]) == {"Research activity"}
    assert list(opened.scorecard["Kpi"]) == [
        "studies_open_pct_precovid",
        "new_studies",
        "recruiting_organisations",
        "gp_practices_recruiting_pct",
    ]
    assert "commercial_income" in opened.targets
    assert opened.baseline_quarters == ("2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4")
    assert opened.icb_name  # the ICB's name from the shipped ONS table
    assert opened.commentary is None  # no commentary_dir given
    assert opened.sample_data is False  # a data folder was given


def test_the_summary_keeps_every_scorecard_row_whose_tables_were_loaded():
    opened = section.open_section("00_summary", quarter=QUARTER, data_dir=BACKTEST, tables=ACTIVITY_TABLES)
    assert {"Research activity", "Participation", "Commercial"} <= set(opened.scorecard["Section"])


def test_kpi_looks_up_one_row_and_names_the_choices_when_missing():
    opened = open_activity()
    assert opened.kpi("new_studies")["Label"] == "NIHR studies opened in the quarter"
    with pytest.raises(KeyError, match="'commercial_income' is not in section 10_research_activity"):
        opened.kpi("commercial_income")


def test_without_targets_there_is_no_target_or_rag():
    opened = open_activity(targets_file="")
    assert opened.targets == {}
    assert opened.scorecard["Rag"].isna().all()


def test_baseline_period_is_passed_to_the_kpis():
    default = open_activity().kpi("studies_open_pct_precovid")["Value"]
    other = open_activity(baseline_period="2019-20-Q1..2019-20-Q2").kpi("studies_open_pct_precovid")["Value"]
    assert open_activity(baseline_period="2019-20-Q1..2019-20-Q2").baseline_quarters == ("2019-20-Q1", "2019-20-Q2")
    assert default != other


def test_relative_paths_are_read_from_the_project_root():
    relative = BACKTEST.resolve().relative_to(paths.PROJ_ROOT)
    assert open_activity(data_dir=str(relative), targets_file="params/targets.yml").data_dir == BACKTEST.resolve()


def test_commentary_is_found_by_quarter_and_section(tmp_path):
    (tmp_path / "2020-21-Q2").mkdir()
    (tmp_path / "2020-21-Q2" / "10_research_activity.md").write_text("Steady <b>quarter</b>.", encoding="utf-8")
    opened = open_activity(commentary_dir=tmp_path)
    assert opened.commentary is not None and "&lt;b&gt;quarter&lt;/b&gt;" in opened.commentary.html


def test_quarter_none_means_the_latest_complete_quarter():
    assert section.resolve_quarter(None) == latest_complete()
    assert section.resolve_quarter("") == latest_complete()
    assert section.resolve_quarter("2026-27-Q2") == parse("2026/27 Q2")


def test_missing_sample_data_says_how_to_make_it(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "SAMPLE_DATA_DIR", tmp_path / "data" / "sample")
    with pytest.raises(
        section.SectionInputError,
        match=r"no sample data at .*QWU/2026-27-Q2: create it first with "
        r"`boardpack sample-data --icb QWU",
    ):
        section.resolve_data_dir(None, "QWU", parse("2026/27 Q2"))


def test_default_data_dir_is_the_sample_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "SAMPLE_DATA_DIR", tmp_path)
    folder = tmp_path / "QWU" / "2020-21-Q2"
    shutil.copytree(BACKTEST, folder)
    opened = section.open_section("10_research_activity", quarter=QUARTER, tables=ACTIVITY_TABLES)
    assert opened.data_dir == folder and opened.sample_data is True


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(section.SectionInputError, match="parameter data_dir: no such folder"):
        open_activity(data_dir=tmp_path / "nowhere")
    with pytest.raises(section.SectionInputError, match="parameter targets_file: no such file"):
        open_activity(targets_file=tmp_path / "targets.yml")
    with pytest.raises(ValueError, match="unknown section '99_other'"):
        section.open_section("99_other", quarter=QUARTER, data_dir=BACKTEST, tables=ACTIVITY_TABLES)


# -- presentation helpers --------------------------------------------------------------------------
def test_table_selects_and_renames_columns_in_order():
    frame = pd.DataFrame({"Code": ["a_b"], "OpenStudies": [1234], "Pct": [12.5]})
    shown = section.table(frame, "Studies", {"OpenStudies": "Open studies", "Code": "Care setting"}, name="studies")
    assert list(shown.frame.columns) == ["Open studies", "Care setting"]
    assert shown.name == "studies"
    assert shown.frame.iloc[0].tolist() == ["1,234", "a_b"]
    with pytest.raises(KeyError, match=r"column\(s\) \['Missing'\]"):
        section.table(frame, "Studies", {"Missing": "x"})


def test_recent_dates_labels_and_observed_rows():
    frame = pd.DataFrame({"Quarter": ["2025-26-Q4", "2026-27-Q1", "2026-27-Q2"], "Value": [float("nan"), 2.0, 3.0]})
    assert section.recent(frame, 2)["Quarter"].tolist() == ["2026-27-Q1", "2026-27-Q2"]
    assert section.with_dates(frame)["QuarterStart"].tolist() == [
        pd.Timestamp("2026-01-01"),
        pd.Timestamp("2026-04-01"),
        pd.Timestamp("2026-07-01"),
    ]
    assert section.with_quarter_labels(frame)["Quarter"].tolist() == ["2025/26 Q4", "2026/27 Q1", "2026/27 Q2"]
    assert section.observed(frame, "Value")["Quarter"].tolist() == ["2026-27-Q1", "2026-27-Q2"]


def test_readable_labels_shares_and_dropped_rows():
    frame = pd.DataFrame({"Group": ["primary_care", "Total"], "Pct": [12.5, "*"]})
    assert section.readable(frame, "Group")["Group"].tolist() == ["Primary care", "Total"]
    shown = section.readable(pd.DataFrame({"T": ["gp_practice", None]}), "T")["T"].tolist()
    assert shown[0] == "GP practice" and pd.isna(shown[1])
    assert list(section.renamed(frame, {"Pct": "Share"}).columns) == ["Group", "Share"]
    with pytest.raises(KeyError, match=r"\['Nope'\]"):
        section.renamed(frame, {"Nope": "x"})
    assert section.percent_to_share(frame, ["Pct"])["Pct"].tolist() == [0.125, "*"]
    assert section.rows_except(frame, "Group", ["Total"])["Group"].tolist() == ["primary_care"]


def test_spc_of_a_history_frame_flags_trial_limits_without_warning(recwarn):
    frame = pd.DataFrame({"Quarter": ["2026-27-Q1", "2026-27-Q2", "2026-27-Q3"], "Value": ["*", 10, 12]})
    result = section.spc_of(frame, "Value")
    assert result["value"].isna().tolist() == [True, False, False]  # a suppressed cell is a gap
    assert result["date"].tolist() == [
        pd.Timestamp("2026-04-01"),
        pd.Timestamp("2026-07-01"),
        pd.Timestamp("2026-10-01"),
    ]
    assert bool(result["trial_limits"].iloc[-1]) is True
    assert not [w for w in recwarn if "trial limits" in str(w.message)]


def test_headline_table_captions_differ_by_section():
    activity = section.headline_table(open_activity())
    summary = section.headline_table(
        section.open_section("00_summary", quarter=QUARTER, data_dir=BACKTEST, tables=ACTIVITY_TABLES)
    )
    assert activity.caption == "Headline KPIs: research activity, 2020/21 Q2"
    assert summary.caption == "Headline KPIs of the plan, 2020/21 Q2"
    assert "Section" in summary.frame.columns and "Section" not in activity.frame.columns
    assert (activity.name, summary.name) == ("10_research_activity_headline_kpis", "00_summary_headline_kpis")


def test_without_small_rows_leaves_out_rows_showing_only_suppressed_or_zero():
    frame = pd.DataFrame(
        {"Code": ["A", "B", "C", "D", "Total"], "Staff": [40, "*", "*", 0, 55], "Joint": [0, 0, 10, 0, 10]}
    )
    kept, left_out = section.without_small_rows(frame, ["Staff", "Joint"])
    assert kept["Code"].tolist() == ["A", "C", "Total"] and left_out == 2
    none_left, zero = section.without_small_rows(frame.iloc[:1], ["Staff"])
    assert len(none_left) == 1 and zero == 0


def test_spc_icons_of_a_scorecard_row():
    row = section.spc_icons({"Variation": "improvement_high", "Assurance": "consistent_fail"})
    assert [i.alt_text for i in row.icons] == [
        "Special cause improvement (high)",
        "Assurance: the target will consistently be missed (fail)",
    ]
    shown = row._repr_html_()
    assert shown.count("<img ") == 2 and 'alt="Special cause improvement (high)"' in shown
    assert repr(row) == "Special cause improvement (high); Assurance: the target will consistently be missed (fail)"
    assert [i.alt_text for i in section.spc_icons({"Variation": "common_cause", "Assurance": None}).icons] == [
        "Common cause variation"
    ]
    assert section.spc_icons({"Variation": None, "Assurance": None}).icons == ()


def test_section_ids_match_the_build_registry_and_each_kpis_tables_are_read_by_its_section():
    """The KPI registry names the section that shows each KPI; that section (and the summary)
    reads every table the KPI needs, so the build's cache keys cover it."""
    from boardpack.sections import SECTIONS
    from helpers.kpis import REGISTRY

    assert list(section.SECTION_IDS) == [s.id for s in SECTIONS]
    tables = {s.id: set(s.tables) for s in SECTIONS}
    for kpi in REGISTRY:
        assert set(kpi.tables) <= tables[kpi.section], kpi.id
        assert set(kpi.tables) <= tables[section.SUMMARY_SECTION], kpi.id
    assert {k.section for k in REGISTRY} == set(section.SECTION_IDS[1:-1])  # every middle section shows KPIs


def test_headline_charts_use_the_scorecards_spc_frame_icons_and_rebase_lines(qwu_sample):
    """Each XmR KPI's chart is drawn from the SPC frame behind its scorecard icons: the alt text
    states the scorecard's variation; rebased charts say where and why; run KPIs get a line chart."""
    from helpers import kpi_activity, kpi_commercial, kpi_participation, kpis
    from helpers.spc import VARIATION_WORDS

    summary = section.open_section(
        "00_summary",
        quarter="2026/27 Q2",
        data_dir=qwu_sample,
        tables=list(qwu_sample_tables()),
        targets_file=paths.PARAMS_DIR / "targets.yml",
    )
    xmr = [k for k in summary.scorecard["Kpi"] if kpis.KPIS[k].chart == "xmr"]
    assert sorted(summary.spc_frames) == sorted(xmr) and len(xmr) >= 8
    quarter, icb = summary.quarter, summary.icb
    open_studies = kpi_activity.open_studies(summary.data, quarter, icb)
    row = summary.kpi("studies_open_pct_precovid")
    chart = section.kpi_chart(summary, "studies_open_pct_precovid", open_studies, "PctOfBaseline", "t", "% of baseline")
    assert chart.figure.axes[0].lines[0].get_ydata()[-1] == pytest.approx(row["Value"])
    assert VARIATION_WORDS[row["Variation"]] in chart.alt_text
    assert "Limits recalculated from 2023/24 Q1 (the plan starts)" in chart.alt_text
    texts = [t.get_text() for t in chart.figure.axes[0].texts]
    assert "Covid-19 pause and restart" in texts and "the plan starts" in texts
    participants = kpi_participation.participants(summary.data, quarter, icb)  # disclosed: rounded to 5
    people = section.kpi_chart(summary, "participants", participants, "Participants", "t", "participants")
    assert VARIATION_WORDS[summary.kpi("participants")["Variation"]] in people.alt_text
    drawn = people.figure.axes[0].lines[0].get_ydata()
    assert all(v % 5 == 0 for v in drawn if v == v)  # drawn as published
    share = kpi_commercial.commercial_share_of_open_studies(summary.data, quarter, icb)
    commercial = section.kpi_chart(summary, "commercial_pct_open_studies", share, "CommercialPct", "t", "%")
    assert "Plan's starting point 11.5 (2022/23 Q2)" in [t.get_text() for t in commercial.figure.legends[0].get_texts()]
    assert "Plan's starting point 11.5 (2022/23 Q2)." in commercial.alt_text
    rate = kpi_participation.participants_per_10k(summary.data, quarter, icb)
    run = section.kpi_chart(summary, "participants_per_10k", rate, "Per10000", "t", "per 10,000")
    assert run.alt_text.startswith("Line chart") and "process limits" not in run.alt_text
    legend = [t.get_text() for t in run.figure.legends[0].get_texts()] if run.figure.legends else []
    assert "Per10000" not in legend and "per 10,000" in legend  # named by its axis label
    assert any(text.startswith("Plan trajectory, from 210") for text in legend)  # the plan's starting point
    assert summary.restated == {}  # opened without the build's store: no previous pack, nothing marked
    # The build's KPI stage stores each KPI's quarters restated since the previous pack: ringed on its chart.
    marked = dataclasses.replace(
        summary, restated={"participants": ("2026-27-Q1",), "participants_per_10k": ("2026-27-Q1",)}
    )
    restated = " 2026/27 Q1 restated since the last pack."
    for kpi, frame, column, unit, plain in (
        ("participants", participants, "Participants", "participants", people),
        ("participants_per_10k", rate, "Per10000", "per 10,000", run),
    ):
        ringed = section.kpi_chart(marked, kpi, frame, column, "t", unit)
        assert ringed.alt_text == plain.alt_text + restated
        assert "Restated since the last pack" in [t.get_text() for t in ringed.figure.legends[0].get_texts()]
        assert [c.get_offsets().shape[0] for c in ringed.figure.axes[0].collections if c.get_gid() == "restated"] == [1]
    again = section.kpi_chart(marked, "studies_open_pct_precovid", open_studies, "PctOfBaseline", "t", "% of baseline")
    assert again.alt_text == chart.alt_text  # a KPI with nothing restated is drawn as before


def test_the_sections_table_list_is_the_contracts():
    """helpers.pack_sections lists the tables literally (the command line reads it without pandas)."""
    from helpers.contract import TABLES
    from helpers.pack_sections import ALL_TABLES

    assert ALL_TABLES == TABLES


def test_a_section_loads_its_declared_tables_unless_told_otherwise():
    opened = section.open_section("60_engagement", quarter=QUARTER, data_dir=BACKTEST)
    assert opened.data.engagement is not None and opened.data.studies is None
    with pytest.raises(ValueError, match="unknown section 'nope'"):
        section.open_section("nope", quarter=QUARTER, data_dir=BACKTEST)


def qwu_sample_tables():
    from boardpack.sections import ALL_TABLES

    return ALL_TABLES


def test_a_chart_of_stale_data_says_so_in_its_title():
    from types import SimpleNamespace

    from helpers import freshness
    from helpers.section import stale_tables_of, stale_title

    fresh = pd.DataFrame(
        [
            {"Table": "recruitment", "DataTo": dt.date(2026, 7, 31), "Extracted": None, "DaysShort": 61, "Stale": True},
            {"Table": "finance", "DataTo": dt.date(2026, 9, 30), "Extracted": None, "DaysShort": 0, "Stale": False},
        ],
        columns=freshness.FRESHNESS_COLUMNS,
    )
    section = SimpleNamespace(freshness=fresh)
    assert stale_tables_of(section, ["organisations", "recruitment", "finance"]) == ["recruitment"]
    assert stale_title(section, ["finance"], "Income rose") == "Income rose"
    assert stale_title(section, ["studies", "recruitment"], "Participants rose") == (
        "Stale data (recruitment to 31 Jul 2026): Participants rose"
    )
    assert stale_title(SimpleNamespace(freshness=None), ["recruitment"], "T") == "T"


def test_the_build_knows_the_extract_file_names_the_helpers_read():
    from boardpack.hashing import EXTRACT_FILE_NAMES
    from helpers import freshness

    assert EXTRACT_FILE_NAMES == freshness.EXTRACT_FILE_NAMES


def test_a_section_opening_says_its_data_are_stale_after_its_lead(capsys):
    from types import SimpleNamespace

    from helpers import freshness, narrative
    from helpers.section import show_opening

    fresh = pd.DataFrame(
        [{"Table": "finance", "DataTo": dt.date(2026, 6, 30), "Extracted": None, "DaysShort": 92, "Stale": True}],
        columns=freshness.FRESHNESS_COLUMNS,
    )
    section = SimpleNamespace(
        id="30_commercial", freshness=fresh, quarter=parse("2026/27 Q2"), projections={}, commentary=None
    )
    show_opening(section, narrative.summary("Lead.", "Second."))
    lines = capsys.readouterr().out.split(". ")
    assert lines[0] == "Lead"
    assert lines[1].startswith("The finance data stop at 30 Jun 2026, 92 days before 2026/27 Q2 ended")
