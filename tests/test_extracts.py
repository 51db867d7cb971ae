"""boardpack.extracts: which rows a pack reads, cut once per source, named by their own content."""

from __future__ import annotations

import pandas as pd
import pytest

from boardpack import extracts
from helpers.loading import DataError
from sampledata.generate import generate, write

QUARTER = "2026/27 Q2"


@pytest.fixture(scope="module")
def tables():
    return generate(to=QUARTER, scale="national", icbs=["QWU", "QOX"])


@pytest.fixture
def national(tables, tmp_path):
    folder = tmp_path / "national"
    write(tables, folder, "parquet")
    return folder


def test_a_many_icb_folder_is_cut_once_into_one_validated_folder_per_icb(national, tmp_path, monkeypatch):
    cache = tmp_path / ".cache"
    pack = extracts.data_for_pack(national, "QOX", QUARTER, cache)
    assert pack.validated and pack.folder.parent == cache / "extracts" / "QOX"
    from helpers.contract import TABLES

    # every table of the contract, and the folder's peer figures (every ICB's) as its benchmarks table
    assert {p.name for p in pack.folder.iterdir()} == {f"{t}.parquet" for t in (*TABLES, "benchmarks")}
    assert pack.source["source_dir"] == str(national) and pack.source["quarter"] == QUARTER
    assert set(pack.source["files"]) >= {"organisations", "recruitment"}
    from helpers.benchmarks import peer_inputs
    from helpers.extract import read_icb_tables
    from helpers.loading import load_data as load

    peers = read_icb_tables(pack.folder, ["benchmarks"]).benchmarks
    pd.testing.assert_frame_equal(peers, peer_inputs(load(national, QUARTER), QUARTER))
    assert set(peers["IcbCode"]) == {"QWU", "QOX"}

    import helpers.loading

    def no_second_read(*args, **kwargs):
        raise AssertionError("the national folder was read again")

    monkeypatch.setattr(helpers.loading, "load_data", no_second_read)
    again = extracts.data_for_pack(national, "QWU", QUARTER, cache)
    assert again.validated and again.folder.parent == cache / "extracts" / "QWU"


def test_a_revision_of_one_icb_leaves_the_other_icbs_folders_as_they_were(tables, national, tmp_path):
    cache = tmp_path / ".cache"
    before, _, _ = extracts.extract_all(national, QUARTER, cache)
    engagement = pd.read_parquet(national / "engagement.parquet")
    row = engagement.index[engagement["IcbCode"] == "QOX"][0]
    engagement.loc[row, "Value"] = engagement.loc[row, "Value"] + 1
    revised = dict(tables, engagement=engagement)
    write(revised, national, "parquet")
    after, _, _ = extracts.extract_all(national, QUARTER, cache)
    assert after["QWU"] == before["QWU"]  # same path: its sections' cache entries still match
    assert after["QOX"] != before["QOX"]


def test_a_folder_of_one_icb_is_read_as_it_is(tables, tmp_path):
    folder = tmp_path / "one"
    orgs = tables["organisations"]
    write(generate(to=QUARTER, icb="QWU"), folder, "csv")
    pack = extracts.data_for_pack(folder, "QWU", QUARTER, tmp_path / ".cache")
    assert pack == extracts.PackData(folder.resolve())
    assert [p.name for p in (tmp_path / ".cache" / "extracts").iterdir()] == ["icbs"]  # nothing cut
    assert set(orgs["IcbCode"]) == {"QWU", "QOX"}


def test_an_icb_not_in_the_folder_is_a_clear_error(national, tmp_path):
    with pytest.raises(extracts.ExtractError, match="no organisation of ICB QYG.*QOX, QWU"):
        extracts.data_for_pack(national, "QYG", QUARTER, tmp_path / ".cache")


def test_a_broken_national_file_is_reported_by_file_row_and_column(tables, national, tmp_path):
    recruitment = pd.read_parquet(national / "recruitment.parquet")
    recruitment.loc[5, "Participants"] = -3
    write(dict(tables, recruitment=recruitment), national, "parquet")
    with pytest.raises(DataError) as caught:
        extracts.data_for_pack(national, "QWU", QUARTER, tmp_path / ".cache")
    text = str(caught.value)
    assert "recruitment.parquet" in text and "Participants" in text and "row 7" in text.lower()
    assert not list((tmp_path / ".cache" / "extracts").glob("Q*/*"))  # nothing cut from invalid data
