"""helpers.store: the pack's validated tables and computed KPIs, written once, read by each section."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from helpers import section, store
from helpers.contract import TABLES
from helpers.loading import load_data
from helpers.quarters import parse
from helpers.targets import TARGETS_FILE, load_targets

QUARTER = parse("2026/27 Q2")
BASELINE = ("2019-20-Q1", "2019-20-Q2", "2019-20-Q3", "2019-20-Q4")


@pytest.fixture(scope="module")
def validated(qwu_sample):
    return load_data(qwu_sample, QUARTER)


@pytest.fixture(scope="module")
def written(validated, tmp_path_factory):
    """A store as the build writes it: every table, the KPIs for QWU with the project's targets."""
    root = tmp_path_factory.mktemp("store")
    kpis = section.compute_kpis(validated, QUARTER, "QWU", load_targets(TARGETS_FILE), BASELINE)
    inputs = store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE)
    return store.write_store(root / "summary", _tables(validated, root), inputs, kpis, ["a warning"]), kpis


def _tables(data, root, names=TABLES):
    return {name: store.write_table(data.table(name), root / "tables" / f"{name}.parquet") for name in names}


def test_tables_come_back_exactly_as_validated(validated, written):
    folder, _ = written
    read = store.read_tables(folder, TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(read.table(name), validated.table(name), check_exact=True)
    assert store.read_meta(folder)["warnings"] == ["a warning"]


def test_only_the_tables_asked_for_are_read(written):
    read = store.read_tables(written[0], ["engagement"])
    assert read.engagement is not None and read.recruitment is None


def test_a_table_not_in_the_store_is_a_clear_error(validated, tmp_path):
    tables = _tables(validated, tmp_path, ["engagement"])
    folder = store.write_store(tmp_path / "s", tables, store.KpiInputs.of(QUARTER.label, "QWU", None, BASELINE), None)
    with pytest.raises(store.StoreError, match="holds engagement, not recruitment"):
        store.read_tables(folder, ["engagement", "recruitment"])


def test_kpis_are_given_only_for_the_inputs_they_were_computed_from(written, tmp_path):
    folder, kpis = written
    same = store.read_kpis(folder, store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE))
    pd.testing.assert_frame_equal(same.scorecard, kpis.scorecard)
    assert same.spc_frames.keys() == kpis.spc_frames.keys()
    other_targets = tmp_path / "targets.yml"
    other_targets.write_text(TARGETS_FILE.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert store.read_kpis(folder, store.KpiInputs.of(QUARTER.label, "QWU", other_targets, BASELINE)) is None
    assert store.read_kpis(folder, store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE[:2])) is None
    assert store.read_kpis(folder, store.KpiInputs.of("2026/27 Q1", "QWU", TARGETS_FILE, BASELINE)) is None


def test_a_section_opened_on_the_store_equals_one_opened_on_the_data_folder(qwu_sample, written):
    """What the build's sections see (the store) is what JupyterLab sees (the data folder)."""
    options = dict(quarter=QUARTER.label, icb="QWU", tables=TABLES, targets_file=TARGETS_FILE)
    from_folder = section.open_section("00_summary", data_dir=qwu_sample, **options)
    from_store = section.open_section("00_summary", data_dir=qwu_sample, store_dir=written[0], **options)
    pd.testing.assert_frame_equal(from_store.scorecard, from_folder.scorecard, check_exact=True)
    assert from_store.spc_frames.keys() == from_folder.spc_frames.keys()
    for kpi, frame in from_folder.spc_frames.items():
        pd.testing.assert_frame_equal(from_store.spc_frames[kpi], frame, check_exact=True)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_store.data.table(name), from_folder.data.table(name), check_exact=True)


def test_a_section_with_other_targets_computes_its_kpis_instead_of_taking_the_stored_ones(
    qwu_sample, written, tmp_path
):
    """The stored KPIs are used only for the inputs they came from: with the stored KPIs made
    unreadable, a section with other targets still opens (it computes), one with the same fails."""
    folder = tmp_path / "store"
    shutil.copytree(written[0], folder)
    (folder / store.KPIS_FILE).write_bytes(b"not a pickle")
    targets = tmp_path / "targets.yml"
    targets.write_text(TARGETS_FILE.read_text(encoding="utf-8") + "\n# the same targets, another file\n")
    options = dict(quarter=QUARTER.label, icb="QWU", data_dir=qwu_sample, store_dir=folder, tables=TABLES)
    opened = section.open_section("00_summary", targets_file=targets, **options)
    pd.testing.assert_frame_equal(opened.scorecard, written[1].scorecard)
    with pytest.raises(Exception, match="pickle|load"):
        section.open_section("00_summary", targets_file=TARGETS_FILE, **options)


def test_rewriting_a_store_replaces_it_whole(validated, written):
    folder, kpis = written
    inputs = store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE)
    store.write_store(folder, store.read_meta(folder)["tables"], inputs, kpis, [])
    assert store.read_meta(folder)["warnings"] == []
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_store_dir_that_is_not_a_store_is_a_clear_error(qwu_sample, tmp_path):
    with pytest.raises(section.SectionInputError, match="is not a pack store"):
        section.open_section(
            "60_engagement", quarter=QUARTER.label, data_dir=qwu_sample, store_dir=tmp_path, tables=["engagement"]
        )


def test_only_keeps_the_rows_and_frames_of_the_kpis_named(written):
    kpis = written[1]
    some = kpis.only(["commercial_income", "new_studies"])
    assert sorted(some.scorecard["Kpi"]) == ["commercial_income", "new_studies"]
    assert set(some.spc_frames) <= {"commercial_income", "new_studies"}
    assert section.section_kpis(kpis, "00_summary") is kpis


def test_detail_tables_and_their_appendix_records_come_back_in_order(tmp_path):
    from helpers.section_tables import Computed
    from helpers.tables import format_table

    first = format_table(pd.DataFrame({"Quarter": ["2026/27 Q2"], "Value": [1.25]}), caption="First", name="b_first")
    second = format_table(pd.DataFrame({"A": ["=1+1"]}), caption="Second", name="a_second")
    detail = {
        "b_first": Computed("b_first", first.frame, first),
        "chart_only": Computed("chart_only", pd.DataFrame({"x": [1]}), None),
        "a_second": Computed("a_second", second.frame, second),
        "broken": Computed("broken", None, None, "ZeroDivisionError: no studies"),
    }
    inputs = store.KpiInputs.of(QUARTER.label, "QWU", None, BASELINE)
    kpis = store.Kpis(pd.DataFrame({"Kpi": ["x"]}), {})
    folder = store.write_store(tmp_path / "s", {}, inputs, kpis, (), detail)
    assert store.read_appendix(folder) == [first.payload(), second.payload()]  # tables only, as shown
    read = store.read_detail_tables(folder, inputs)
    assert list(read) == list(detail) and read["broken"].error == "ZeroDivisionError: no studies"
    pd.testing.assert_frame_equal(read["chart_only"].frame, detail["chart_only"].frame)
    assert read["b_first"].table.html == first.html
    assert store.read_detail_tables(folder, store.KpiInputs.of(QUARTER.label, "QWX", None, BASELINE)) is None
    no_kpis = store.write_store(tmp_path / "n", {}, inputs, None)
    assert store.read_detail_tables(no_kpis, inputs) is None and store.read_appendix(no_kpis) == []


def test_restated_quarters_are_stored_with_the_kpis_and_reach_the_section(qwu_sample, validated, written, tmp_path):
    import dataclasses

    kpis = dataclasses.replace(
        written[1], restated={"ppie_activities": ("2026-27-Q1",), "new_studies": ("2025-26-Q4", "2026-27-Q1")}
    )
    inputs = store.KpiInputs.of(QUARTER.label, "QWU", TARGETS_FILE, BASELINE)
    engagement = section.section_kpis(kpis, "60_engagement")
    assert engagement.restated == {"ppie_activities": ("2026-27-Q1",)}  # only the section's KPIs
    assert kpis.only([]).restated == {} and section.section_kpis(kpis, "00_summary").restated == kpis.restated
    folder = store.write_store(tmp_path / "s", _tables(validated, tmp_path, ["engagement"]), inputs, engagement)
    assert store.read_kpis(folder, inputs).restated == {"ppie_activities": ("2026-27-Q1",)}
    options = dict(quarter=QUARTER.label, data_dir=qwu_sample, targets_file=TARGETS_FILE, tables=["engagement"])
    assert section.open_section("60_engagement", store_dir=folder, **options).restated == engagement.restated
    assert section.open_section("60_engagement", **options).restated == {}  # standalone: no previous pack
    assert written[1].restated == {} and store.read_kpis(written[0], inputs).restated == {}
