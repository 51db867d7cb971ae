"""The section cache: fingerprints cover notebook, parameters and input files; jupyter-cache
round trip without a kernel on a hit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest

from boardpack.cache import (
    INJECTED_CELL_ID,
    SectionCache,
    content_hash,
    fingerprint,
    prepare_notebook,
    strip_volatile,
    table_files,
)
from boardpack.execute import SectionTask, execute_section

FIXTURES = Path(__file__).parent / "notebooks"
NOTEBOOK = FIXTURES / "engagement_section.ipynb"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "engagement.csv").write_text("IcbCode,Quarter,Measure,Value\nQWU,2026-27-Q2,events,15\n")
    (folder / "deliverables.csv").write_text("IcbCode\nQWU\n")
    (folder / "notes.txt").write_text("not a table")
    return folder


def _params(data: Path) -> dict:
    return {
        "quarter": "2026/27 Q2",
        "icb": "QWU",
        "data_dir": str(data),
        "targets_file": "",
        "commentary_dir": str(data),
        "baseline_period": "2019-20-Q1..2019-20-Q4",
        "sample_data": False,
    }


def test_table_files_finds_only_contract_tables(data):
    assert table_files(data, ["engagement", "deliverables", "finance"]) == {
        "engagement": data / "engagement.csv",
        "deliverables": data / "deliverables.csv",
    }


def test_fingerprint_changes_with_each_input_and_only_those(data, tmp_path):
    inputs = {"engagement": data / "engagement.csv"}
    base, hashes = fingerprint(NOTEBOOK, _params(data), inputs, code=[])
    assert set(hashes) == {str(data / "engagement.csv")}
    assert fingerprint(NOTEBOOK, _params(data), inputs, code=[])[0] == base  # deterministic

    (data / "deliverables.csv").write_text("IcbCode\nQYG\n")  # a file this section does not read
    assert fingerprint(NOTEBOOK, _params(data), inputs, code=[])[0] == base

    (data / "engagement.csv").write_bytes((data / "engagement.csv").read_bytes() + b"QWU,2026-27-Q1,events,1\n")
    changed_input = fingerprint(NOTEBOOK, _params(data), inputs, code=[])[0]
    assert changed_input != base

    changed_param = fingerprint(NOTEBOOK, {**_params(data), "icb": "QYG"}, inputs, code=[])[0]
    assert changed_param != changed_input

    edited = tmp_path / "edited.ipynb"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells[-1].source += "\n# edited"
    nbformat.write(nb, edited)
    assert fingerprint(edited, _params(data), inputs, code=[])[0] != changed_input

    code_file = tmp_path / "helper.py"
    code_file.write_text("x = 1\n")
    with_code = fingerprint(NOTEBOOK, _params(data), inputs, code=[code_file])[0]
    code_file.write_text("x = 2\n")
    assert fingerprint(NOTEBOOK, _params(data), inputs, code=[code_file])[0] != with_code


def test_prepared_notebook_carries_the_fingerprint_in_a_fixed_cell(data):
    nb = prepare_notebook(NOTEBOOK, {**_params(data), "fingerprint": "abc123"})
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and injected[0].id == INJECTED_CELL_ID
    assert 'fingerprint = "abc123"' in injected[0].source
    assert 'icb = "QWU"' in injected[0].source
    assert prepare_notebook(NOTEBOOK, {**_params(data), "fingerprint": "abc123"}) == nb  # stable


@pytest.mark.integration
def test_store_then_lookup_returns_outputs_without_a_kernel(data, tmp_path):
    prepared = prepare_notebook(NOTEBOOK, {**_params(data), "fingerprint": "key-1"})
    prepared_path = tmp_path / "prepared.ipynb"
    nbformat.write(prepared, prepared_path)
    result = execute_section(
        SectionTask(
            "60_engagement",
            str(prepared_path),
            str(tmp_path / "out.ipynb"),
            str(tmp_path / "failed"),
            str(FIXTURES),
            60,
            time.time() + 120,
        )
    )
    assert result.ok, result.error
    executed = strip_volatile(nbformat.read(result.output_notebook, as_version=4))

    cache = SectionCache(tmp_path / "cache")
    assert cache.lookup(prepared) is None
    cache.store(prepared, executed, uri=str(NOTEBOOK))

    again = SectionCache(tmp_path / "cache")  # a later build opens the same store
    hit = again.lookup(prepare_notebook(NOTEBOOK, {**_params(data), "fingerprint": "key-1"}))
    assert hit is not None
    assert content_hash(hit) == content_hash(executed)
    assert any("image/png" in o.get("data", {}) for c in hit.cells if c.cell_type == "code" for o in c.outputs)
    assert [c.cell_type for c in hit.cells] == [c.cell_type for c in prepared.cells]  # markdown kept

    assert again.lookup(prepare_notebook(NOTEBOOK, {**_params(data), "fingerprint": "key-2"})) is None
    shutil.rmtree(tmp_path / "cache")
