"""boardpack.kpi_stage on a many-ICB folder: every ICB's headline series and detail frames come from
one pass over the folder when it is cut (helpers.icb_histories, helpers.icb_frames), read by each of
its packs, and give the same stores and record as the ICB's own extract computed on its own."""

from __future__ import annotations

import json
import logging
import pickle
import shutil

import pandas as pd
import pytest
from test_icb_histories import PARAMS

from boardpack import extracts, kpi_stage, params as build_params
from boardpack.sections import select
from helpers import icb_frames, icb_histories, store
from helpers.kpis import REGISTRY
from helpers.quarters import BASELINE_PERIOD
from sampledata.generate import generate, write

QUARTER = "2026/27 Q2"
ICBS = ["QWU", "QOX", "QHG"]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national")
    write(generate(to=QUARTER, scale="national", icbs=ICBS), folder, "parquet")
    return folder


def _stage(root, data: extracts.PackData, icb: str, caplog) -> tuple[dict, dict]:
    """The KPI stage for ``icb`` in project ``root``: (the pack's record, section id -> store folder)."""
    params = build_params.resolve({"quarter": QUARTER, "icb": icb, "data_dir": str(data.folder)}, root=root)
    stores = {s: kpi_stage.store_dir(params, s) for s in select(None)}
    with caplog.at_level(logging.INFO):
        problem, _, written, record = kpi_stage.write_stores(params, data, stores, False, logging.getLogger("t"))
    assert problem == "" and written == len(stores)
    return record, {s.id: folder for s, folder in stores.items()}


def _project(tmp_path, name):
    root = tmp_path / name
    shutil.copytree(build_params.paths.PROJ_ROOT / "params", root / "params")
    return root


def test_a_many_icb_folders_packs_share_one_pass_and_equal_their_own_extracts(national, tmp_path, caplog):
    root = _project(tmp_path, "national")
    cache = root / ".cache"
    kpi_params = extracts.KpiParams(BASELINE_PERIOD, root / "params" / "targets.yml")
    with caplog.at_level(logging.INFO):
        first = extracts.data_for_pack(national, "QOX", QUARTER, cache, kpi_params)
    assert "of all 3 ICBs of the folder in one pass" in caplog.text
    assert first.histories is not None and first.histories.parent.parent == cache / "extracts" / "pass"
    frame = pd.read_parquet(first.histories)
    assert list(dict.fromkeys(frame["IcbCode"])) == sorted(ICBS)
    # the ICB's detail frames from the same pass: one per rule with an all-ICB counterpart
    assert first.frames is not None and first.frames.parent.parent == first.histories.parent
    with open(first.frames, "rb") as handle:
        given = pickle.load(handle)  # noqa: S301 - written by the build under test
    assert set(given) == {rule.name for rule in icb_frames.RULES if rule.all_icbs is not None}
    record, stores = _stage(root, first, "QOX", caplog)

    # The folder's next pack finds the same histories (no second pass) and reads its rows.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        second = extracts.data_for_pack(national, "QWU", QUARTER, cache, kpi_params)
    assert second.histories == first.histories and "in one pass" not in caplog.text
    assert second.frames == first.frames.with_name("QWU.pickle")
    _stage(root, second, "QWU", caplog)

    # Other parameters than the cut's: no histories for them, so each pack computes its own series.
    other = extracts.data_for_pack(national, "QOX", QUARTER, cache, extracts.KpiParams("2018/19 Q1..2018/19 Q4"))
    assert other.histories is None and other.frames is None and other.folder == first.folder

    # QOX's extract as a plain one-ICB folder: its series computed ICB by ICB, the same figures.
    own = tmp_path / "own"
    shutil.copytree(first.folder, own)
    plain_root = _project(tmp_path, "plain")
    plain = extracts.data_for_pack(own, "QOX", QUARTER, plain_root / ".cache", kpi_params)
    assert plain.histories is None and plain.frames is None and not plain.validated
    plain_record, plain_stores = _stage(plain_root, plain, "QOX", caplog)
    assert json.dumps(plain_record, sort_keys=True) == json.dumps(record, sort_keys=True)  # as the manifest has it
    for section, folder in stores.items():
        for name in (store.KPIS_FILE, store.APPENDIX_FILE):
            if (folder / name).exists():
                assert (folder / name).read_bytes() == (plain_stores[section] / name).read_bytes(), (section, name)
        if (folder / store.DETAIL_FILE).exists():
            _assert_same_detail(folder / store.DETAIL_FILE, plain_stores[section] / store.DETAIL_FILE, section)


def _assert_same_detail(given_file, computed_file, section: str) -> None:
    """The detail frames and tables drawn from the pass's frames equal those computed from the
    extract: every frame exactly (values, dtypes, index), every table's HTML, shown frame and
    appendix rows. (Not the pickles' bytes: a frame cut from an all-ICB frame holds its columns in
    other memory blocks than one computed alone, which pickle records.)"""
    from test_icb_frames import assert_same_frame

    with open(given_file, "rb") as handle:
        given = pickle.load(handle)  # noqa: S301 - written by the build under test
    with open(computed_file, "rb") as handle:
        computed = pickle.load(handle)  # noqa: S301
    assert list(given) == list(computed), section
    for name, one in given.items():
        other = computed[name]
        assert (one.error, one.frame is None, one.table is None) == (
            other.error,
            other.frame is None,
            other.table is None,
        )
        if one.frame is not None:
            assert_same_frame(one.frame, other.frame, f"{section} {name}")
        if one.table is not None:
            assert one.table.html == other.table.html, (section, name)
            assert one.table.payload() == other.table.payload(), (section, name)
            assert_same_frame(one.table.frame, other.table.frame, f"{section} {name} shown")


def test_the_histories_hold_every_icbs_series_as_the_pack_reads_them(national):
    from helpers.loading import load_data

    whole = load_data(national, QUARTER)
    frame = icb_histories.histories(whole, QUARTER, ICBS, **PARAMS)
    assert list(frame.columns) == icb_histories.COLUMNS
    assert list(dict.fromkeys(frame["Kpi"])) == [k.id for k in REGISTRY]
    for kpi in REGISTRY:
        series = kpi.series(whole, QUARTER, "QHG", **PARAMS)
        got = icb_histories.series_of(frame, "QHG")[kpi.id]
        expected = pd.Series(series.to_numpy(dtype="float64"), index=[str(q) for q in series.index])
        pd.testing.assert_series_equal(got, expected, check_names=False, obj=kpi.id)
        assert got.attrs.get("label") == series.attrs.get("label")
