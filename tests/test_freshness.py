"""Data freshness (helpers.freshness): the extract file, how far each table reaches, stale tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from boardpack.params import ParamsError, resolve
from helpers import freshness as fr
from helpers.loading import DataError, load_data

QUARTER = "2026/27 Q2"  # ends 30 September 2026


@pytest.fixture(scope="module")
def sample(qwu_sample):
    return load_data(qwu_sample, QUARTER)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the extract file ---------------------------------------------------------------------------------


def test_no_extract_file_is_fine(tmp_path):
    assert fr.read_extract(tmp_path) == (None, [])
    assert fr.load_extract(tmp_path) is None


def test_extract_file_in_yaml_with_a_table_of_its_own(tmp_path):
    write(tmp_path, "extract.yml", "extracted: 2026-10-14\ntables:\n  finance: 2026-10-02\n")
    extract = fr.load_extract(tmp_path)
    assert extract.file == tmp_path / "extract.yml"
    assert extract.extracted == dt.date(2026, 10, 14)
    assert extract.for_table("finance") == dt.date(2026, 10, 2)
    assert extract.for_table("recruitment") == dt.date(2026, 10, 14)


def test_extract_file_in_json_per_table_only(tmp_path):
    write(tmp_path, "extract.json", '{"tables": {"recruitment": "2026-10-09"}}')
    extract = fr.load_extract(tmp_path)
    assert extract.extracted is None
    assert extract.for_table("recruitment") == dt.date(2026, 10, 9)
    assert extract.for_table("finance") is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("extract.yml", "extracted: 14/10/2026\n", "column extracted: error: '14/10/2026' is not a date"),
        ("extract.yml", "extracted: 2026-10-14 09:30:00\n", "is not a date written as YYYY-MM-DD"),
        ("extract.yml", "tables:\n  recruits: 2026-10-14\n", "column tables.recruits: error: unknown table 'recruits'"),
        ("extract.yml", "extracted: 2026-10-14\nwhen: today\n", "unknown field(s) when"),
        ("extract.yml", "- 2026-10-14\n", "expected the fields 'extracted' and/or 'tables'"),
        ("extract.yml", "extracted: [2026\n", "not valid YAML"),
        ("extract.yml", "tables: {}\n", "no date given"),
        ("extract.json", '{"extracted": "2026-13-01"}', "'2026-13-01' is not a date"),
        ("extract.json", '{"extracted": ', "not valid JSON"),
    ],
)
def test_a_bad_extract_file_is_an_error_naming_the_file(tmp_path, name, text, message):
    write(tmp_path, name, text)
    extract, problems = fr.read_extract(tmp_path)
    assert extract is None and problems
    assert all(p.file == name and p.severity == "error" for p in problems)
    assert any(message in str(p) for p in problems), [str(p) for p in problems]
    with pytest.raises(fr.ExtractFileError, match=str(tmp_path / name)):
        fr.load_extract(tmp_path)


def test_two_extract_files_are_an_error(tmp_path):
    write(tmp_path, "extract.yml", "extracted: 2026-10-14\n")
    write(tmp_path, "extract.json", '{"extracted": "2026-10-14"}')
    _, problems = fr.read_extract(tmp_path)
    assert [str(p) for p in problems] == [
        "extract.yml: error: one extract file per folder: found extract.yml, extract.json; keep one"
    ]


def test_load_data_reads_and_validates_the_extract_file(qwu_sample, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(qwu_sample, folder)
    assert load_data(folder, QUARTER, tables=["engagement"]).extract is None
    write(folder, "extract.yml", "extracted: 2026-10-14\n")
    assert load_data(folder, QUARTER, tables=["engagement"]).extract.extracted == dt.date(2026, 10, 14)
    # taken before the quarter ended: a warning naming the file
    write(folder, "extract.yml", "extracted: 2026-09-20\n")
    data = load_data(folder, QUARTER, tables=["engagement"])
    assert [str(w) for w in data.warnings if w.file == "extract.yml"] == [
        "extract.yml, column extracted: warning: extracted 2026-09-20, before 2026/27 Q2 ended (2026-09-30): "
        "was the extract taken too early?"
    ]
    # a bad file stops the load (and so `boardpack validate` and the build), naming the file
    write(folder, "extract.yml", "extracted: soon\n")
    with pytest.raises(DataError, match=r"extract\.yml\n\s+ERROR\s+column extracted: 'soon' is not a date"):
        load_data(folder, QUARTER, tables=["engagement"])


# -- how far the data reach, and stale tables ---------------------------------------------------------


def test_data_to_is_the_end_of_the_last_month_or_quarter(sample):
    assert fr.data_to(sample.recruitment, "recruitment") == dt.date(2026, 9, 30)
    assert fr.data_to(sample.finance, "finance") == dt.date(2026, 9, 30)
    july = sample.recruitment[sample.recruitment["Month"] <= pd.Timestamp("2026-07-01")]
    assert fr.data_to(july, "recruitment") == dt.date(2026, 7, 31)
    q1 = sample.finance[sample.finance["Quarter"] <= "2026-27-Q1"]
    assert fr.data_to(q1, "finance") == dt.date(2026, 6, 30)
    assert fr.data_to(sample.studies, "studies") is None  # not dated by month or quarter
    assert fr.data_to(sample.recruitment.iloc[0:0], "recruitment") is None
    # deliverables are dated by their reporting quarter, not their due quarter
    assert fr.data_to(sample.deliverables, "deliverables") == dt.date(2026, 9, 30)


def test_the_sample_is_fresh_and_the_cover_says_so(sample):
    extract = fr.ExtractDates(Path("extract.yml"), dt.date(2026, 10, 14))
    fresh = fr.freshness(sample, QUARTER, extract)
    assert list(fresh.columns) == fr.FRESHNESS_COLUMNS
    assert list(fresh["Table"]) == [
        "recruitment",
        "recruitment_imd",
        "recruitment_ethnicity",
        "finance",
        "workforce",
        "engagement",
        "deliverables",
    ]
    assert set(fresh["DaysShort"]) == {0} and not fresh["Stale"].any()
    assert fr.stale_tables(fresh) == [] and fr.stale_sentences(fresh, QUARTER) == []
    assert fr.cover_line(fresh) == "data to 30 Sep 2026, extracted 14 Oct 2026"
    assert fr.cover_line(fr.freshness(sample, QUARTER)) == "data to 30 Sep 2026"  # no extract file


def test_a_table_stopping_early_is_stale_beyond_the_lag(sample):
    # recruitment to July: data to 31 Jul 2026, 61 days before 30 Sep 2026
    july = sample.recruitment[sample.recruitment["Month"] <= pd.Timestamp("2026-07-01")]
    data = dataclasses.replace(sample, recruitment=july)
    fresh = fr.freshness(data, QUARTER)
    row = fresh.set_index("Table").loc["recruitment"]
    assert row["DataTo"] == dt.date(2026, 7, 31) and row["DaysShort"] == 61 and row["Stale"]
    assert fr.stale_tables(fresh) == ["recruitment"]
    assert fr.stale_sentences(fresh, QUARTER) == [
        "The recruitment data stop at 31 Jul 2026, 61 days before 2026/27 Q2 ended (30 Sep 2026): "
        "its figures may be incomplete."
    ]
    assert fr.cover_line(fresh) == "data to 31 Jul 2026"
    # the lag is a parameter: 61 days is not more than 61
    assert fr.stale_tables(fr.freshness(data, QUARTER, stale_after_days=61)) == []
    assert fr.stale_tables(fr.freshness(data, QUARTER, stale_after_days=60)) == ["recruitment"]
    # to August: 30 days short, within the default 45
    august = sample.recruitment[sample.recruitment["Month"] <= pd.Timestamp("2026-08-01")]
    assert fr.stale_tables(fr.freshness(dataclasses.replace(sample, recruitment=august), QUARTER)) == []
    with pytest.raises(ValueError, match="stale_after_days"):
        fr.freshness(data, QUARTER, stale_after_days=-1)


def test_cover_line_with_tables_extracted_on_different_days(sample):
    extract = fr.ExtractDates(Path("extract.yml"), dt.date(2026, 10, 14), {"finance": dt.date(2026, 10, 2)})
    fresh = fr.freshness(sample, QUARTER, extract)
    assert fresh.set_index("Table").loc["finance", "Extracted"] == dt.date(2026, 10, 2)
    assert fr.cover_line(fresh) == "data to 30 Sep 2026, extracted between 2 Oct 2026 and 14 Oct 2026"


# -- the parameter ------------------------------------------------------------------------------------


def test_stale_after_days_parameter():
    assert resolve({"quarter": QUARTER}).stale_after_days == fr.STALE_AFTER_DAYS == 45
    assert resolve({"quarter": QUARTER, "stale_after_days": "30"}).stale_after_days == 30
    with pytest.raises(ParamsError, match="stale_after_days"):
        resolve({"quarter": QUARTER, "stale_after_days": "-1"})
    assert "stale_after_days" in resolve({"quarter": QUARTER}).log_dict()
