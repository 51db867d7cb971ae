"""The data folder a pack reads: the given folder, or its ICB's extract when it covers several ICBs.

A folder holding one ICB's tables is used as it is. A folder covering several ICBs (the national
extract that regional and national teams hold) is validated once for the quarter, with every
problem named by file, row and column as for any data folder, then cut into one Parquet folder per
ICB (:mod:`helpers.extract`) under ``<cache>/extracts/<key>/<ICB>/``. The key covers the source
files' bytes, the quarter and the helpers' code: one changed byte gives new extracts. Only the
driver writes extracts, into a temporary folder renamed into place, so two builds never see half of
one. ``boardpack build`` and ``boardpack batch`` both come here, so they read the same rows.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from boardpack.cache import code_hashes, sha256_file, table_files
from helpers.contract import TABLES

SOURCE_FILE = "source.json"  # in each ICB folder: where its rows came from
log = logging.getLogger("boardpack.extracts")


class ExtractError(ValueError):
    """The data folder does not hold the pack's ICB."""


def folder_icbs(data_dir: Path) -> list[str]:
    """ICB codes of the folder's organisations table (raises DataError naming file, row and column)."""
    from helpers.extract import icbs_in
    from helpers.loading import load_data

    return icbs_in(load_data(data_dir, tables=["organisations"]))


def source_key(data_dir: Path, quarter: str) -> str:
    files = {name: sha256_file(path) for name, path in sorted(table_files(data_dir, TABLES).items())}
    material = {"files": files, "quarter": quarter, "code": dict(code_hashes())}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def data_for_pack(data_dir: Path, icb: str, quarter: str, cache_dir: Path) -> Path:
    """The folder the pack of ``icb`` reads (``data_dir`` itself when it holds only that ICB).

    Raises :class:`helpers.loading.DataError` for data that break the contract and
    :class:`ExtractError` when the folder has no rows for ``icb``.
    """
    data_dir = Path(data_dir).resolve()
    if (data_dir / SOURCE_FILE).is_file():  # already an extract
        return data_dir
    if "organisations" not in table_files(data_dir, ["organisations"]):
        return data_dir  # no organisations table to tell the ICBs apart: validation reports what is missing
    icbs = folder_icbs(data_dir)
    if icb not in icbs:
        raise ExtractError(
            f"{data_dir / 'organisations'}: no organisation of ICB {icb} (column IcbCode holds "
            f"{', '.join(icbs[:10]) or 'nothing'}{' ...' if len(icbs) > 10 else ''}): is --icb or --data wrong?"
        )
    if icbs == [icb]:
        return data_dir
    return extract_all(data_dir, quarter, cache_dir) / icb


def extract_all(data_dir: Path, quarter: str, cache_dir: Path) -> Path:
    """Validate ``data_dir`` for ``quarter`` and write every ICB's extract; returns their parent folder."""
    from helpers.extract import icb_tables, icbs_in, write_icb_tables
    from helpers.loading import load_data

    key = source_key(data_dir, quarter)
    final = Path(cache_dir) / "extracts" / key[:24]
    if (final / ".complete").is_file():
        return final
    log.info("validating %s for %s and cutting it into one folder per ICB", data_dir, quarter)
    data = load_data(data_dir, quarter)
    source = {
        "source_dir": str(data_dir),
        "quarter": quarter,
        "files": {name: {"file": path.name, "sha256": sha256_file(path)}
                  for name, path in sorted(table_files(data_dir, TABLES).items())},
    }
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        for code in icbs_in(data):
            write_icb_tables(icb_tables(data, code), staging / code)
            (staging / code / SOURCE_FILE).write_text(json.dumps({**source, "icb": code}, indent=2, sort_keys=True) + "\n",
                                                       encoding="utf-8")
        (staging / ".complete").write_text(json.dumps(source, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        try:
            os.rename(staging, final)
        except OSError:  # another driver finished the same extracts first: theirs are identical
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def source_of(folder: Path) -> dict:
    """What an extract folder was cut from ({} for a folder that is not an extract)."""
    try:
        return json.loads((Path(folder) / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
