"""Fingerprints: a section's key covers its notebook, parameters and input files, and only those."""

from __future__ import annotations

import nbformat
from conftest import FIXTURE_NOTEBOOK as NOTEBOOK, fixture_parameters as _params

from boardpack.hashing import fingerprint, table_files


def test_table_files_finds_only_contract_tables(small_data):
    assert table_files(small_data, ["engagement", "deliverables", "finance"]) == {
        "engagement": small_data / "engagement.csv",
        "deliverables": small_data / "deliverables.csv",
    }


def test_fingerprint_changes_with_each_input_and_only_those(small_data, tmp_path):
    inputs = {"engagement": small_data / "engagement.csv"}
    base, hashes = fingerprint(NOTEBOOK, _params(small_data), inputs, code=[])
    assert set(hashes) == {str(small_data / "engagement.csv")}
    assert fingerprint(NOTEBOOK, _params(small_data), inputs, code=[])[0] == base  # deterministic

    (small_data / "deliverables.csv").write_text("IcbCode\nQYG\n")  # a file this section does not read
    assert fingerprint(NOTEBOOK, _params(small_data), inputs, code=[])[0] == base

    (small_data / "engagement.csv").write_bytes(
        (small_data / "engagement.csv").read_bytes() + b"QWU,2026-27-Q1,events,1\n"
    )
    changed_input = fingerprint(NOTEBOOK, _params(small_data), inputs, code=[])[0]
    assert changed_input != base

    changed_param = fingerprint(NOTEBOOK, {**_params(small_data), "icb": "QYG"}, inputs, code=[])[0]
    assert changed_param != changed_input

    edited = tmp_path / "edited.ipynb"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells[-1].source += "\n# edited"
    nbformat.write(nb, edited)
    assert fingerprint(edited, _params(small_data), inputs, code=[])[0] != changed_input

    code_file = tmp_path / "helper.py"
    code_file.write_text("x = 1\n")
    with_code = fingerprint(NOTEBOOK, _params(small_data), inputs, code=[code_file])[0]
    code_file.write_text("x = 2\n")
    assert fingerprint(NOTEBOOK, _params(small_data), inputs, code=[code_file])[0] != with_code
