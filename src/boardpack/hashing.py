"""Fingerprints: what a section's cache key and a pack's key are made of.

sha256 of files (remembered per file stamp in a process), of the helpers' code and the lock file, of
a notebook's cells, and of a section's outputs. Nothing here imports pandas, nbformat or
jupyter-cache: an unchanged rebuild fingerprints every section and stops.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    import nbformat

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")


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
    digest = paths.file_sha256(path)
    with _hashed_lock:
        _hashed[stamp] = digest
    return digest


# The data folder's optional extract file (helpers.freshness.EXTRACT_FILE_NAMES; a test keeps them equal).
EXTRACT_FILE_NAMES = ("extract.yml", "extract.yaml", "extract.json")


def extract_file(data_dir: Path) -> Path | None:
    """The data folder's extract file (when each table was extracted), if it has one."""
    return next((Path(data_dir) / n for n in EXTRACT_FILE_NAMES if (Path(data_dir) / n).is_file()), None)


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


def content_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 of a section's outputs without volatile metadata: equal across builds of the same inputs."""
    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            outputs.append({k: out[k] for k in ("output_type", "name", "text", "data") if k in out})
    return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()
