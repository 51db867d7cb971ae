"""One anchor for every path in the project (cookiecutter-data-science's PROJ_ROOT), and a file's digest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# src/helpers/paths.py -> project root is two levels above src/.
PROJ_ROOT = Path(os.environ.get("BOARDPACK_ROOT", Path(__file__).resolve().parents[2])).resolve()
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PARAMS_DIR = PROJ_ROOT / "params"
REPORTS_DIR = PROJ_ROOT / "reports"
SAMPLE_DATA_DIR = PROJ_ROOT / "data" / "sample"
CACHE_DIR = PROJ_ROOT / ".cache"
# Reference tables shipped inside the package (ONS populations), so a fresh clone needs nothing else.
REFERENCE_DATA_DIR = Path(__file__).resolve().parent / "reference_data"


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's bytes (the build remembers them per file: boardpack.hashing.sha256_file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
