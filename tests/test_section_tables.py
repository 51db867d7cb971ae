"""helpers.section_tables: every section's detail tables, computed once into its store or on the fly
when a notebook runs without one, with the same result."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers import section, section_tables, store
from helpers.loading import load_data
from helpers.pack_sections import PACK_SECTIONS
from helpers.quarters import parse
from helpers.tables import Table
from helpers.targets import TARGETS_FILE, load_targets

QUARTER = parse("2026/27 Q2")
BASELINE = ("2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4")
SECTION_IDS = [s.id for s in PACK_SECTIONS]


def _stored_section(data, kpis, section_id: str, folder):
    """A section's store as the KPI stage writes it: its KPIs and detail tables, from every table."""
    shown = section.section_kpis(kpis, section_id)
    inputs = section_tables.TableInputs(
        section_id, data, QUARTER, "QWU", load_targets(TARGETS_FILE), BASELINE, shown.scorecard
    )
    tables = {n: store.write_table(data.table(n), folder.parent / "tables" / f"{n}.parquet") for n in data.files}
    kpi_inputs = store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE)
    detail = section_tables.compute_section(inputs)
    return store.write_store(folder, tables, kpi_inputs, shown, (), detail)


@pytest.fixture(scope="module")
def stores(qwu_sample, tmp_path_factory):
    """Every section's store, written from the sample data validated once."""
    data = load_data(qwu_sample, QUARTER)
    kpis = section.compute_kpis(data, QUARTER, "QWU", load_targets(TARGETS_FILE), BASELINE)
    root = tmp_path_factory.mktemp("stores")
    return {sid: _stored_section(data, kpis, sid, root / sid) for sid in SECTION_IDS}


def _open(section_id, qwu_sample, store_dir=""):
    return section.open_section(
        section_id,
        quarter=QUARTER.label,
        data_dir=qwu_sample,
        targets_file=TARGETS_FILE,
        baseline_period="2019-20-Q1..2019-20-Q4",
        store_dir=store_dir,
    )


@pytest.mark.parametrize("section_id", SECTION_IDS)
def test_stored_tables_equal_the_ones_computed_on_the_fly(section_id, stores, qwu_sample):
    """A notebook given the build's store shows exactly what it computes when opened on the data
    folder (JupyterLab): same frames, same HTML, same appendix record."""
    stored = _open(section_id, qwu_sample, stores[section_id])
    fly = _open(section_id, qwu_sample)
    assert stored.detail and not fly.detail  # read from the store; computed only when asked for
    for declared in section_tables.declarations(section_id):
        assert not stored.detail[declared.name].error
        if section.detail_frame(stored, declared.name) is None:  # peer tables: the sample has no peer data
            assert not declared.in_notebook and section.detail_frame(fly, declared.name) is None
            assert stored.detail[declared.name].table is None
            continue
        pd.testing.assert_frame_equal(
            section.detail_frame(stored, declared.name),
            section.detail_frame(fly, declared.name),
            check_exact=True,
            # The headline's frame is the section's scorecard rows: cut from the pack's whole
            # scorecard, a column all missing in these rows keeps the whole column's dtype
            # (helpers.store.Kpis.only), while computed from the section's tables alone it is object.
            check_dtype=declared is not section_tables.HEADLINE,
        )
        if declared.table is not None:
            shown, computed = section.detail_table(stored, declared.name), section.detail_table(fly, declared.name)
            assert shown.html == computed.html and shown.payload() == computed.payload()


def test_a_section_given_its_store_computes_no_table(stores, qwu_sample, monkeypatch):
    opened = _open("30_commercial", qwu_sample, stores["30_commercial"])

    def refuse(*args):
        raise AssertionError("computed although the store holds it")

    monkeypatch.setattr(section_tables, "compute", refuse)
    assert isinstance(section.detail_table(opened, "commercial_income"), Table)
    assert "QuarterStart" in section.detail_frame(opened, "commercial_income")  # the chart's frame


def test_the_appendix_records_are_the_tables_in_the_order_declared(stores):
    records = store.read_appendix(stores["30_commercial"])
    assert [r["name"] for r in records] == [
        "commercial_income",
        "commercial_participants",
        "setup_times",
        "recruitment_to_time_and_target",
        "30_commercial_headline_kpis",
    ]
    assert records[0]["title"] == "Commercial contract income, last 8 quarters"
    assert records[0]["columns"] == ["Quarter", "In the quarter (GBP)", "Rolling 12 months (GBP)", "Trajectory (GBP)"]
    assert len(records[0]["rows"]) == 8


def test_every_table_has_an_appendix_name_unique_across_the_pack(stores):
    names = [r["name"] for sid in SECTION_IDS for r in store.read_appendix(stores[sid])]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)


def test_captions_name_the_quarter_and_counted_footnotes_are_filled_in(stores, qwu_sample):
    opened = _open("40_partnerships_workforce", qwu_sample, stores["40_partnerships_workforce"])
    table = section.detail_table(opened, "workforce_by_organisation")
    assert table.caption == "Research-active staff and joint appointments by organisation, 2026/27 Q2"
    listed, unlisted = section.without_small_rows(
        section.detail_frame(opened, "workforce_by_organisation"), ["ResearchActiveStaff", "JointAppointments"]
    )
    assert len(table.rows) == len(listed)
    assert f"Not listed: {unlisted} organisations" in table.footnotes[0]


def test_a_frame_for_charts_only_has_no_table(stores, qwu_sample):
    opened = _open("00_summary", qwu_sample, stores["00_summary"])
    assert "PctOfBaseline" in section.detail_frame(opened, "studies_open")
    with pytest.raises(KeyError, match="a frame for charts, not a table"):
        section.detail_table(opened, "studies_open")
    assert [r["name"] for r in store.read_appendix(stores["00_summary"])] == ["00_summary_headline_kpis"]


def test_an_undeclared_name_is_a_clear_error(qwu_sample):
    opened = _open("60_engagement", qwu_sample)
    with pytest.raises(section_tables.DetailTableError, match="declares: engagement, headline_kpis"):
        section.detail_table(opened, "engagment")


def test_a_table_that_fails_in_the_build_is_raised_by_the_section_at_its_cell(qwu_sample, monkeypatch, tmp_path):
    """The KPI stage records the error (the appendix leaves the table out); the notebook computes it
    again and raises the real exception where it shows the table, as before."""

    def broken(inputs):
        raise ZeroDivisionError("no studies")

    declared = (section_tables.Declared("broken", broken, section_tables.TableSpec("Broken")),)
    monkeypatch.setitem(section_tables.SECTION_TABLES, "60_engagement", declared)
    opened = _open("60_engagement", qwu_sample)
    detail = section_tables.compute_section(
        section_tables.TableInputs("60_engagement", opened.data, QUARTER, "QWU", {}, BASELINE, opened.scorecard)
    )
    assert detail["broken"].error == "ZeroDivisionError: no studies" and detail["broken"].table is None
    kpis = store.Kpis(opened.scorecard, {})
    inputs = store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE)
    folder = store.write_store(tmp_path / "s", {}, inputs, kpis, (), detail)
    assert store.read_appendix(folder) == []
    opened.detail.update(store.read_detail_tables(folder, inputs))
    with pytest.raises(ZeroDivisionError, match="no studies"):
        section.detail_table(opened, "broken")


def test_stored_tables_are_used_only_for_the_inputs_they_were_computed_from(stores):
    other = store.KpiInputs.of(QUARTER.label, "QWU", None, BASELINE)  # no targets file
    assert store.read_detail_tables(stores["30_commercial"], other) is None


def test_a_given_frame_is_used_instead_of_computing_its_rule(qwu_sample):
    """The KPI stage of a many-ICB folder's pack hands its tables the ICB's frames from the folder's
    one pass (helpers.icb_frames): a given frame is the one shown, a copy the table may change, and
    a rule not given is computed from the data."""
    from helpers import icb_frames, kpi_activity

    data = load_data(qwu_sample, QUARTER)
    kpis = section.compute_kpis(data, QUARTER, "QWU", load_targets(TARGETS_FILE), BASELINE)
    shown = section.section_kpis(kpis, "10_research_activity")
    computed = section_tables.compute_section(
        section_tables.TableInputs(
            "10_research_activity", data, QUARTER, "QWU", load_targets(TARGETS_FILE), BASELINE, shown.scorecard
        )
    )
    marker = computed["new_studies"].frame.assign(NewStudies=-1)
    name = icb_frames.name_of(kpi_activity.new_studies)
    given = section_tables.compute_section(
        section_tables.TableInputs(
            "10_research_activity",
            data,
            QUARTER,
            "QWU",
            load_targets(TARGETS_FILE),
            BASELINE,
            shown.scorecard,
            given={name: marker},
        )
    )
    pd.testing.assert_frame_equal(given["new_studies"].frame, marker)
    assert given["new_studies"].frame is not marker
    for other in ("studies_open", "gp_practices_recruiting"):
        pd.testing.assert_frame_equal(given[other].frame, computed[other].frame)
