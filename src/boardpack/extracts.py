"""The data folder a pack reads: the given folder, or its ICB's extract when it covers several ICBs.

A folder holding one ICB's tables is used as it is. A folder covering several ICBs (the national
extract that regional and national teams hold) is validated once for the quarter, with every
problem named by file, row and column as for any data folder, then cut into one Parquet folder per
ICB (:mod:`helpers.extract`). Each ICB's folder is named by the hash of its own files,
``<cache>/extracts/<ICB>/<hash>/``: a data revision that changes one ICB's rows gives that ICB a
new folder and leaves the others' (and so their cached sections) as they were. Only the driver
writes extracts, into temporary folders renamed into place, so no build sees half of one.
``boardpack build`` and ``boardpack batch`` both come here, so they read the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from boardpack.hashing import code_hashes, extract_file, sha256_file, table_files
from boardpack.sections import ALL_TABLES as TABLES  # the contract's tables, without importing pandas

log = logging.getLogger("boardpack.extracts")
HISTORIES_FILE = "histories.parquet"  # in a pass's folder: every ICB's headline KPI histories
FRAMES_DIR = "frames"  # in a pass's folder: <ICB>.pickle, the ICB's detail frames (rule name -> frame)


@dataclass(frozen=True)
class KpiParams:
    """What the headline KPI histories depend on besides the data: the pack's baseline period and
    targets file (a KPI may count from its target's start)."""

    baseline_period: str
    targets_file: Path | None = None

    def key(self) -> dict:
        return {
            "baseline_period": self.baseline_period,
            "targets": sha256_file(self.targets_file) if self.targets_file else "",
        }


class ExtractError(ValueError):
    """The data folder does not hold the pack's ICB."""


@dataclass(frozen=True)
class PackData:
    """Where a pack's rows are, and where they came from."""

    folder: Path
    source: dict = field(default_factory=dict)  # for an extract: the source folder, its files' hashes, the quarter
    validated: bool = False  # an extract of a folder that passed every check for the quarter
    histories: Path | None = None  # for an extract: every ICB's headline KPI histories, from one pass
    frames: Path | None = None  # for an extract: its ICB's detail frames, from the same pass


def folder_icbs(data_dir: Path, cache_dir: Path) -> list[str]:
    """ICB codes of the folder's organisations table (raises DataError naming file, row and column);
    remembered per organisations file, so an unchanged rebuild does not read it again."""
    organisations = table_files(data_dir, ["organisations"])["organisations"]
    memo = Path(cache_dir) / "extracts" / "icbs" / f"{sha256_file(organisations)}.json"
    try:
        return json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from helpers.extract import icbs_in
    from helpers.loading import load_data

    icbs = icbs_in(load_data(data_dir, tables=["organisations"]))
    memo.parent.mkdir(parents=True, exist_ok=True)
    temporary = memo.with_name(f".{memo.name}.{os.getpid()}")
    temporary.write_text(json.dumps(icbs) + "\n", encoding="utf-8")
    os.replace(temporary, memo)
    return icbs


def data_for_pack(
    data_dir: Path, icb: str, quarter: str, cache_dir: Path, kpi_params: KpiParams | None = None
) -> PackData:
    """The rows the pack of ``icb`` reads: ``data_dir`` itself when it holds only that ICB; for a
    many-ICB folder, its ICB's extract and (given ``kpi_params``) every ICB's headline KPI
    histories and its ICB's detail frames, when the folder's cut computed them for these
    parameters (:func:`extract_all`).

    Raises :class:`helpers.loading.DataError` for data that break the contract and
    :class:`ExtractError` when the folder has no rows for ``icb``.
    """
    data_dir = Path(data_dir).resolve()
    if "organisations" not in table_files(data_dir, ["organisations"]):
        return PackData(data_dir)  # nothing tells the ICBs apart: validation reports what is missing
    icbs = folder_icbs(data_dir, cache_dir)
    if icb not in icbs:
        raise ExtractError(
            f"{data_dir / 'organisations'}: no organisation of ICB {icb} (column IcbCode holds "
            f"{', '.join(icbs[:10]) or 'nothing'}{' ...' if len(icbs) > 10 else ''}): is --icb or --data wrong?"
        )
    if icbs == [icb]:
        return PackData(data_dir)
    folders, source, one_pass = extract_all(data_dir, quarter, cache_dir, kpi_params)
    if one_pass is None:
        return PackData(folders[icb], source, validated=True)
    frames = one_pass / FRAMES_DIR / f"{icb}.pickle"
    return PackData(
        folders[icb],
        source,
        validated=True,
        histories=one_pass / HISTORIES_FILE,
        frames=frames if frames.is_file() else None,
    )


def extract_all(
    data_dir: Path, quarter: str, cache_dir: Path, kpi_params: KpiParams | None = None
) -> tuple[dict[str, Path], dict, Path | None]:
    """Validate ``data_dir`` for ``quarter`` and cut it into one folder per ICB (once per source
    files, quarter and code). Returns ({ICB: folder}, the source record, the pass's folder).

    With ``kpi_params``, the cut also computes every ICB's headline KPI histories and detail frames
    in one vectorised pass over the validated rows while they are in memory
    (:func:`helpers.icb_histories.histories`, :func:`helpers.icb_frames.frames`), kept beside the
    extracts for those parameters: the pass's folder, or None when the folder was cut earlier for
    other parameters (each pack then computes its own series and frames from its extract).
    """
    files = {
        name: {"file": path.name, "sha256": sha256_file(path)}
        for name, path in sorted(table_files(data_dir, TABLES).items())
    }
    extract = extract_file(data_dir)
    if extract is not None:
        files["extract"] = {"file": extract.name, "sha256": sha256_file(extract)}
    key = hashlib.sha256(
        json.dumps({"files": files, "quarter": quarter, "code": dict(code_hashes())}, sort_keys=True).encode()
    ).hexdigest()
    root = Path(cache_dir) / "extracts"
    index = root / "index" / f"{key[:32]}.json"
    one_pass = _pass_dir(root, key, kpi_params)
    source = {"source_dir": str(data_dir), "quarter": quarter, "files": files}
    try:
        known = json.loads(index.read_text(encoding="utf-8"))
        folders = {icb: root / icb / name for icb, name in known["folders"].items()}
        if all(folder.is_dir() for folder in folders.values()):
            found = one_pass if one_pass is not None and one_pass.is_dir() else None
            return folders, {**source, "warnings": known["warnings"]}, found
    except (OSError, ValueError, KeyError, TypeError):
        pass

    from helpers.benchmarks import peer_inputs
    from helpers.extract import icb_tables, icbs_in
    from helpers.loading import load_data

    log.info("validating %s for %s and cutting it into one folder per ICB", data_dir, quarter)
    data = load_data(data_dir, quarter)
    warnings = [str(w) for w in data.warnings]  # the data passed with these notes: every pack reports them
    # Every ICB's peer figures, from the same validated rows in one pass: each extract carries them
    # as its benchmarks table, so every pack of the folder is compared with the same figures.
    log.info("computing the peer figures of %s ICBs", len(icbs_in(data)))
    peers = peer_inputs(data, quarter)
    if one_pass is not None:
        _write_pass(data, quarter, kpi_params, one_pass)
    folders = {
        icb: _write_folder({**icb_tables(data, icb), "benchmarks": peers}, root / icb, extract) for icb in icbs_in(data)
    }
    index.parent.mkdir(parents=True, exist_ok=True)
    temporary = index.with_name(f".{index.name}.{os.getpid()}")
    record = {"folders": {icb: f.name for icb, f in folders.items()}, "warnings": warnings}
    temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, index)
    return folders, {**source, "warnings": warnings}, one_pass


def _pass_dir(root: Path, key: str, kpi_params: KpiParams | None) -> Path | None:
    """Where the cut keeps its one pass over every ICB for ``kpi_params`` (None without)."""
    if kpi_params is None:
        return None
    name = hashlib.sha256(json.dumps({"cut": key, **kpi_params.key()}, sort_keys=True).encode()).hexdigest()
    return root / "pass" / name[:32]


def _write_pass(data, quarter: str, kpi_params: KpiParams, path: Path) -> None:
    """Every ICB's headline KPI histories and detail frames in one pass (the peer figures' row
    indexes already built): ``histories.parquet`` and ``frames/<ICB>.pickle``, written into a
    temporary folder renamed into place, so no build sees half of one."""
    import pickle
    import time

    from helpers import icb_frames, icb_histories
    from helpers.extract import icbs_in
    from helpers.kpi_commercial import DEFAULT_INCOME_BASELINE_YEAR
    from helpers.quarters import parse_range
    from helpers.targets import load_targets

    icbs = icbs_in(data)
    baseline_quarters = tuple(q.id for q in parse_range(kpi_params.baseline_period))
    targets = load_targets(kpi_params.targets_file) if kpi_params.targets_file else {}
    started = time.monotonic()
    histories = icb_histories.histories(
        data,
        quarter,
        icbs,
        baseline_quarters=baseline_quarters,
        income_baseline_year=DEFAULT_INCOME_BASELINE_YEAR,
        targets=targets,
    )
    at_histories = time.monotonic()
    frames = icb_frames.by_icb(
        icb_frames.frames(data, quarter, icbs, baseline_quarters=baseline_quarters, targets=targets), icbs
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=path.parent))
    try:
        histories.to_parquet(staging / HISTORIES_FILE, index=False)
        (staging / FRAMES_DIR).mkdir()
        for icb, icb_frame in frames.items():
            with open(staging / FRAMES_DIR / f"{icb}.pickle", "wb") as handle:
                pickle.dump(icb_frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            os.rename(staging, path)
        except OSError:  # another driver made the same pass first: theirs is identical
            if not path.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info(
        "computed the headline KPI histories (%.2f s) and detail frames (%.2f s) of all %d ICBs of the folder "
        "in one pass",
        at_histories - started,
        time.monotonic() - at_histories,
        len(icbs),
    )


def _write_folder(tables: dict, parent: Path, extract: Path | None) -> Path:
    """``tables`` as typed Parquet in ``parent/<hash of its files>/`` (kept when already there):
    written into a temporary folder renamed into place, so no build sees half of one."""
    from helpers.extract import write_icb_tables

    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=parent))
    try:
        written = write_icb_tables(tables, staging)
        if extract is not None:  # the extract dates hold for every ICB's rows
            written.append(Path(shutil.copy(extract, staging / extract.name)))
        digest = hashlib.sha256()
        for path in written:
            digest.update(path.name.encode() + b"\0" + sha256_file(path).encode())
        folder = parent / digest.hexdigest()[:24]
        if not folder.is_dir():
            try:
                os.rename(staging, folder)
            except OSError:  # another driver wrote the same rows first: theirs are identical
                if not folder.is_dir():
                    raise
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
