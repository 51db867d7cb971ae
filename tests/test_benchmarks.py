"""helpers.benchmarks: peer inputs (each ICB's numerator and denominator of every comparable KPI),
and the `boardpack benchmarks` command that writes them from a many-ICB folder."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import NATIONAL_ICBS, QUARTER_ID, QUARTER_LABEL, new_project, run_boardpack

from helpers.benchmarks import COLUMNS, peer_inputs, write_benchmarks
from helpers.contract import COMPARABLE_KPIS, TABLES
from helpers.extract import icb_tables
from helpers.loading import load_data


@pytest.fixture(scope="module")
def three_icbs(three_icb_sample):
    return load_data(three_icb_sample, QUARTER_LABEL)


@pytest.fixture(scope="module")
def inputs(three_icbs):
    return peer_inputs(three_icbs, QUARTER_LABEL)


def test_one_row_per_icb_and_comparable_kpi_for_the_quarter(inputs):
    assert list(inputs.columns) == list(COLUMNS) == ["IcbCode", "Quarter", "Kpi", "Numerator", "Denominator"]
    assert len(inputs) == len(NATIONAL_ICBS) * len(COMPARABLE_KPIS)
    assert list(inputs["IcbCode"]) == [icb for icb in sorted(NATIONAL_ICBS) for _ in COMPARABLE_KPIS]
    assert list(inputs["Kpi"]) == list(COMPARABLE_KPIS) * len(NATIONAL_ICBS)
    assert set(inputs["Quarter"]) == {QUARTER_ID}
    assert inputs["Numerator"].dtype == "int64" and inputs["Denominator"].dtype == "int64"
    assert (inputs["Numerator"] <= inputs["Denominator"]).all() and (inputs["Denominator"] > 0).all()


def test_an_icbs_rows_equal_those_from_its_own_extract(three_icbs, inputs):
    from helpers.loading import Data

    own = Data(**icb_tables(three_icbs, "QWU"))
    alone = peer_inputs(own, QUARTER_LABEL)
    pd.testing.assert_frame_equal(alone, inputs[inputs["IcbCode"] == "QWU"].reset_index(drop=True))


def test_icbs_chooses_the_icbs_and_an_icb_not_in_the_data_is_an_error(three_icbs, inputs):
    chosen = peer_inputs(three_icbs, QUARTER_LABEL, icbs=["qox"])
    pd.testing.assert_frame_equal(chosen, inputs[inputs["IcbCode"] == "QOX"].reset_index(drop=True))
    with pytest.raises(ValueError, match="QYG not in the data"):
        peer_inputs(three_icbs, QUARTER_LABEL, icbs=["QWU", "QYG"])


def test_written_tables_load_back_as_the_benchmarks_table(tmp_path, inputs):
    for suffix in ("csv", "parquet"):
        folder = tmp_path / suffix
        folder.mkdir()
        write_benchmarks(inputs, folder / f"benchmarks.{suffix}")
        loaded = load_data(folder, QUARTER_LABEL, tables=["benchmarks"]).benchmarks
        pd.testing.assert_frame_equal(loaded, inputs)
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_benchmarks(inputs, tmp_path / "benchmarks.xlsx")


@pytest.mark.integration
def test_the_command_writes_the_table_from_a_many_icb_folder(tmp_path_factory, three_icb_sample, inputs):
    root = new_project(tmp_path_factory, "benchmarks")
    out = root / "peer" / "benchmarks.csv"
    result = run_boardpack(
        root, "benchmarks", "--data", str(three_icb_sample), "--quarter", QUARTER_LABEL, "--out", str(out), timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out)
    # An ICB's own extract with the written file beside it loads it as its benchmarks table.
    folder = tmp_path_factory.mktemp("own-extract")
    for name in TABLES:
        shutil.copy(three_icb_sample / f"{name}.csv", folder)
    shutil.copy(out, folder / "benchmarks.csv")
    data = load_data(folder, QUARTER_LABEL)
    pd.testing.assert_frame_equal(data.benchmarks, inputs)


@pytest.mark.integration
def test_the_command_names_file_row_and_column_of_bad_data_and_writes_nothing(tmp_path_factory, three_icb_sample):
    root = new_project(tmp_path_factory, "benchmarks-bad")
    folder = root / "national"
    shutil.copytree(three_icb_sample, folder)
    organisations = pd.read_csv(folder / "organisations.csv", dtype=str, keep_default_na=False)
    organisations.loc[2, "OrganisationType"] = "spaceport"
    organisations.to_csv(folder / "organisations.csv", index=False)
    out = root / "benchmarks.parquet"
    result = run_boardpack(
        root, "benchmarks", "--data", str(folder), "--quarter", QUARTER_LABEL, "--out", str(out), timeout=600
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "organisations.csv" in result.stderr and "row 4" in result.stderr and "OrganisationType" in result.stderr
    assert "spaceport" in result.stderr and not out.exists()
    wrong = run_boardpack(root, "benchmarks", "--data", str(folder), "--out", str(root / "b.xlsx"))
    assert wrong.returncode == 2 and ".csv or .parquet" in wrong.stderr
