"""One anchor for every path in the project (cookiecutter-data-science's PROJ_ROOT)."""

from __future__ import annotations

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
