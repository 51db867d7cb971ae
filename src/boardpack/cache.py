"""A data-aware section cache on jupyter-cache: an unchanged section starts no kernel.

jupyter-cache hashes code cells only, so the notebook is parameterised first with a ``fingerprint``
parameter: sha256 of the notebook's source, the resolved parameters, every input file the section
reads, the helpers' source and ``requirements.lock``. Only the driver opens the cache (its SQLite
store is not safe to write from many workers).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import helpers
from helpers import paths

if TYPE_CHECKING:  # imported where notebooks are handled: an unchanged rebuild needs none of it
    import nbformat

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
INJECTED_CELL_ID = "injected-parameters"
# Cell metadata written during execution; stripped so the cached notebook hashes like the prepared one.
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime", "collapsed", "scrolled")


_hashed: dict[tuple, str] = {}
_hashed_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes; remembered per (path, size, mtime, inode) in this process, so a
    batch hashes a national file once, not once per pack."""
    stat = os.stat(path)
    stamp = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _hashed_lock:
        if stamp in _hashed:
            return _hashed[stamp]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with _hashed_lock:
        _hashed[stamp] = digest.hexdigest()
    return _hashed[stamp]


def table_files(data_dir: Path, tables: Iterable[str]) -> dict[str, Path]:
    """The file holding each table found in ``data_dir`` (``<table>.csv|.xlsx|.parquet``)."""
    found: dict[str, Path] = {}
    for table in tables:
        for suffix in TABLE_SUFFIXES:
            candidate = Path(data_dir) / f"{table}{suffix}"
            if candidate.is_file():
                found[table] = candidate
                break
    return found


def code_files() -> list[Path]:
    """Files whose change must re-run every section: the helpers package and the lock file."""
    helpers_dir = Path(helpers.__file__).resolve().parent
    files = sorted(p for p in helpers_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    lock = paths.PROJ_ROOT / "requirements.lock"
    return files + ([lock] if lock.is_file() else [])


def notebook_source_hash(notebook: Path) -> str:
    """Hash of the cells' types and sources only (not outputs, ids or execution metadata). Read as
    JSON, not with nbformat: an unchanged rebuild fingerprints every section without importing it."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    material = [
        (
            c["cell_type"],
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"],
            sorted(c.get("metadata", {}).get("tags", [])),
        )
        for c in cells
    ]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_hashes() -> tuple[tuple[str, str], ...]:
    """Hashes of :func:`code_files`, taken once per driver process (the code a build starts with)."""
    return tuple((str(p), sha256_file(p)) for p in code_files())


def fingerprint(
    notebook: Path,
    parameters: dict[str, Any],
    inputs: dict[str, Path],
    code: list[Path] | None = None,
) -> tuple[str, dict[str, str]]:
    """(sha256 key, the file hashes it covers) for one section."""
    files = {str(p): sha256_file(p) for p in sorted(set(inputs.values()), key=str)}
    code_material = dict(code_hashes()) if code is None else {str(p): sha256_file(p) for p in code}
    material = {
        "notebook": notebook_source_hash(notebook),
        "parameters": parameters,
        "inputs": files,
        "code": code_material,
    }
    key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return key, files


def prepare_notebook(notebook: Path, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """The notebook with papermill's injected-parameters cell, given a fixed id (stable output)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(notebook))  # papermill's reader: gives every cell a tags list
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.id = INJECTED_CELL_ID
    # papermill records the parameters in the notebook metadata; the injected cell already holds them.
    nb.metadata.pop("papermill", None)
    return nb


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without execution timestamps and papermill bookkeeping."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return nb


def content_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 of a section's outputs without volatile metadata: equal across builds of the same inputs."""
    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            outputs.append({k: out[k] for k in ("output_type", "name", "text", "data") if k in out})
    return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()


class SectionCache:
    """jupyter-cache store under ``<cache_dir>/jupyter-cache``; driver-side only.

    Calls are serialised with a lock, so several builds in one driver's threads (a batch) may share it.
    """

    def __init__(self, cache_dir: Path):
        from jupyter_cache import get_cache

        self.path = Path(cache_dir) / "jupyter-cache"
        self._cache = get_cache(self.path)
        self._lock = threading.Lock()

    def lookup(self, prepared: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
        """The executed notebook for ``prepared`` (markdown from ``prepared``), or None."""
        try:
            with self._lock:
                _, merged = self._cache.merge_match_into_notebook(prepared)
        except KeyError:
            return None
        return merged

    def store(self, prepared: nbformat.NotebookNode, executed: nbformat.NotebookNode, uri: str) -> None:
        """Cache the outputs of ``executed`` under the hash of ``prepared``."""
        from jupyter_cache.base import CacheBundleIn

        bundle_nb = copy.deepcopy(prepared)
        ran = [c for c in executed.cells if c.cell_type == "code"]
        code_cells = [c for c in bundle_nb.cells if c.cell_type == "code"]
        if len(ran) != len(code_cells):
            raise ValueError(f"{uri}: executed notebook has {len(ran)} code cells, expected {len(code_cells)}")
        for cell, done in zip(code_cells, ran):
            cell.outputs = done.get("outputs", [])
            cell.execution_count = done.get("execution_count")
        with self._lock:
            self._cache.cache_notebook_bundle(
                CacheBundleIn(nb=bundle_nb, uri=uri), check_validity=False, overwrite=True
            )
