"""manifest.json: what a pack was built from and what it contains."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from boardpack.hashing import sha256_file
from helpers import paths

PACKAGES = (
    "ri-boardpack",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "jupyter-cache",
    "pandas",
    "numpy",
    "matplotlib",
    "pandera",
    "pydantic",
    "openpyxl",
    "pypandoc-binary",
    "typst",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state(root: Path = paths.PROJ_ROOT) -> dict[str, Any]:
    """Commit and whether the working tree differs from it (None when not a git checkout)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def output_hashes(folder: Path, skip: tuple[str, ...] = ("manifest.json",)) -> dict[str, str]:
    """sha256 of every file under ``folder`` (paths relative to it, sorted)."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def write_manifest(folder: Path, content: dict[str, Any]) -> Path:
    """Write ``manifest.json`` with ``content`` plus versions, git state and output hashes."""
    manifest = dict(content)
    manifest["packages"] = package_versions()
    manifest["git"] = git_state()
    manifest["outputs"] = output_hashes(folder)
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path
