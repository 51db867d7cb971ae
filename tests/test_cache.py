"""The section cache: the prepared notebook carries its fingerprint; jupyter-cache round trip
without a kernel on a hit."""

from __future__ import annotations

import shutil
import time

import nbformat
import pytest
from conftest import FIXTURE_NOTEBOOK as NOTEBOOK, fixture_parameters as _params

from boardpack.cache import INJECTED_CELL_ID, SectionCache, prepare_notebook, strip_volatile
from boardpack.execute import SectionTask, execute_section
from boardpack.hashing import content_hash


def test_prepared_notebook_carries_the_fingerprint_in_a_fixed_cell(small_data):
    nb = prepare_notebook(NOTEBOOK, {**_params(small_data), "fingerprint": "abc123"})
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and injected[0].id == INJECTED_CELL_ID
    assert 'fingerprint = "abc123"' in injected[0].source
    assert 'icb = "QWU"' in injected[0].source
    assert prepare_notebook(NOTEBOOK, {**_params(small_data), "fingerprint": "abc123"}) == nb  # stable


@pytest.mark.integration
def test_store_then_lookup_returns_outputs_without_a_kernel(small_data, tmp_path):
    prepared = prepare_notebook(NOTEBOOK, {**_params(small_data), "fingerprint": "key-1"})
    prepared_path = tmp_path / "prepared.ipynb"
    nbformat.write(prepared, prepared_path)
    result = execute_section(
        SectionTask(
            "60_engagement",
            str(prepared_path),
            str(tmp_path / "out.ipynb"),
            str(tmp_path / "failed"),
            str(NOTEBOOK.parent),
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
    hit = again.lookup(prepare_notebook(NOTEBOOK, {**_params(small_data), "fingerprint": "key-1"}))
    assert hit is not None
    assert content_hash(hit) == content_hash(executed)
    assert any("image/png" in o.get("data", {}) for c in hit.cells if c.cell_type == "code" for o in c.outputs)
    assert [c.cell_type for c in hit.cells] == [c.cell_type for c in prepared.cells]  # markdown kept

    assert again.lookup(prepare_notebook(NOTEBOOK, {**_params(small_data), "fingerprint": "key-2"})) is None
    shutil.rmtree(tmp_path / "cache")
