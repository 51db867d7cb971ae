"""helpers.extract: one ICB's rows of a many-ICB data folder give the same KPIs as the whole folder."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import paths
from helpers.contract import TABLES
from helpers.extract import icb_tables, icbs_in, read_icb_tables, write_icb_tables
from helpers.loading import load_data
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets
from sampledata.generate import generate, write

QUARTER = "2026/27 Q2"
ICBS = ["QWU", "QOX"]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """Two ICBs at the national sample's density, with one study led from QWU recruiting in QOX."""
    tables = generate(to=QUARTER, scale="national", icbs=ICBS)
    orgs = tables["organisations"]
    qox_org = orgs.loc[orgs["IcbCode"] == "QOX", "OrganisationCode"].iloc[0]
    studies = tables["studies"]
    qwu_orgs = set(orgs.loc[orgs["IcbCode"] == "QWU", "OrganisationCode"])
    study = studies[studies["LeadOrganisationCode"].isin(qwu_orgs)].iloc[0]["StudyId"]
    recruitment = tables["recruitment"]
    row = recruitment[recruitment["StudyId"] == study].iloc[[0]].copy()
    row["OrganisationCode"] = (
        pd.Categorical([qox_org], categories=recruitment["OrganisationCode"].cat.categories)
        if isinstance(recruitment["OrganisationCode"].dtype, pd.CategoricalDtype)
        else [qox_org]
    )
    tables["recruitment"] = pd.concat([recruitment, row], ignore_index=True)
    folder = tmp_path_factory.mktemp("national")
    write(tables, folder, "parquet")
    return {"folder": folder, "data": load_data(folder, QUARTER), "study": study, "qox_org": qox_org}


def test_icbs_in_lists_the_folder_icbs(national):
    assert icbs_in(national["data"]) == sorted(ICBS)


@pytest.mark.parametrize("icb", ICBS)
def test_extract_written_and_read_back_equals_the_cut_tables(national, icb, tmp_path):
    tables = icb_tables(national["data"], icb)
    write_icb_tables(tables, tmp_path)
    reread = load_data(tmp_path, QUARTER)  # the extract meets the contract on its own
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, reread.table(name))
    assert set(reread.organisations["IcbCode"]) >= {icb}


@pytest.mark.parametrize("icb", ICBS[:1])
def test_extract_read_without_checks_equals_the_extract_loaded_with_them(national, icb, tmp_path):
    """The build reads an extract typed, without validating it again (it was cut from a validated
    folder): the frames are exactly what load_data gives."""
    write_icb_tables(icb_tables(national["data"], icb), tmp_path)
    checked = load_data(tmp_path, QUARTER)
    read = read_icb_tables(tmp_path, list(TABLES))
    for name in TABLES:
        pd.testing.assert_frame_equal(read.table(name), checked.table(name), check_exact=True)


def test_extract_keeps_a_study_led_elsewhere_that_recruits_here(national):
    tables = icb_tables(national["data"], "QOX")
    assert national["study"] in set(tables["studies"]["StudyId"])
    lead = tables["studies"].loc[tables["studies"]["StudyId"] == national["study"], "LeadOrganisationCode"].iloc[0]
    assert lead in set(tables["organisations"]["OrganisationCode"])  # its lead organisation, for the link check
    assert (tables["recruitment"]["OrganisationCode"] == national["qox_org"]).any()


@pytest.mark.parametrize("icb", ICBS)
def test_scorecard_of_the_extract_equals_the_scorecard_of_the_whole_folder(national, icb, tmp_path):
    targets = load_targets(paths.PROJ_ROOT / "params" / "targets.yml")
    write_icb_tables(icb_tables(national["data"], icb), tmp_path)
    whole = build_scorecard(national["data"], QUARTER, icb, targets)
    extract = build_scorecard(load_data(tmp_path, QUARTER), QUARTER, icb, targets)
    pd.testing.assert_frame_equal(whole, extract)


def test_extract_files_are_byte_identical_when_written_twice(national, tmp_path):
    tables = icb_tables(national["data"], "QWU")
    first = write_icb_tables(tables, tmp_path / "a")
    second = write_icb_tables(icb_tables(national["data"], "QWU"), tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
