"""A data-aware section cache on jupyter-cache: an unchanged section does not run.

jupyter-cache hashes code cells only, so the notebook is parameterised first with a ``fingerprint``
parameter (:func:`boardpack.hashing.fingerprint`: sha256 of the notebook's source, the resolved
parameters, every input file the section reads, the helpers' source and ``requirements.lock``).
Only the driver opens the cache (its SQLite store is not safe to write from many workers).
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where notebooks are handled: an unchanged rebuild needs none of it
    import nbformat

INJECTED_CELL_ID = "injected-parameters"
# Cell metadata written during execution; stripped so the cached notebook hashes like the prepared one.
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime", "collapsed", "scrolled")


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
