"""A pack's validated data and computed KPIs, written once by the build and read by every section.

The build validates a quarter's tables once (:func:`helpers.loading.load_data`), computes every
headline KPI once (:func:`helpers.scorecard.build_scorecard` with its SPC frames), and writes them
as typed Parquet per table (:func:`write_table`: dtypes, categories included, come back exactly as
validated) and one small store per section (:func:`write_store`): which table files it reads,
its rows of the scorecard with their SPC frames, and its detail frames and tables as declared in
:mod:`helpers.section_tables` (``detail.pickle``), with each table's appendix record in the order the
section shows them (``appendix.json``, :func:`read_appendix`: the build writes the appendix from
these). A section's store is named by that section's own
inputs, so a changed table changes the stores (and so the cache keys) of the sections reading it
only. A section given its store (``store_dir``) reads the tables without validating them again and
takes the KPIs and tables as computed (:func:`helpers.section.open_section`); a section opened on a plain data
folder (JupyterLab, the sample data) validates and computes on the fly, with the same functions.

``store.json`` records what the store was made from (quarter, ICB, targets file hash, baseline
period); a section takes the KPIs and tables only when its own parameters match, else it computes them.
The folder is written under a temporary name and renamed into place, so no reader sees half of it.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from helpers import paths
from helpers.loading import Data

if TYPE_CHECKING:
    from helpers.section_tables import Computed

STORE_FILE = "store.json"
KPIS_FILE = "kpis.pickle"
DETAIL_FILE = "detail.pickle"
APPENDIX_FILE = "appendix.json"
FORMAT = 5  # 2: detail tables and the appendix; 3: peer comparisons; 4: projections; 5: restated quarters


class StoreError(ValueError):
    """A store folder that cannot serve the request (the message says why)."""


@dataclass(frozen=True)
class KpiInputs:
    """What the KPIs depend on besides the tables: a section uses stored KPIs only when these match."""

    quarter: str  # label, e.g. '2026/27 Q2'
    icb: str
    targets_sha256: str  # '' when no targets file
    baseline_quarters: tuple[str, ...]
    peers: str | tuple[str, ...] = "england"  # the peer group (helpers.comparison.check_peers)

    @classmethod
    def of(
        cls,
        quarter: str,
        icb: str,
        targets_file: Path | str | None,
        baseline_quarters: Iterable[str],
        peers: str | Iterable[str] = "england",
    ):
        targets = paths.file_sha256(targets_file) if targets_file else ""
        group = peers.strip().lower() if isinstance(peers, str) else tuple(sorted(str(c).upper() for c in peers))
        return cls(str(quarter), str(icb), targets, tuple(baseline_quarters), group)

    def as_dict(self) -> dict:
        peers = self.peers if isinstance(self.peers, str) else list(self.peers)
        return {**self.__dict__, "baseline_quarters": list(self.baseline_quarters), "peers": peers}


@dataclass(frozen=True)
class Kpis:
    """Every headline KPI of the pack: the scorecard, the SPC frame behind each XmR KPI's icons,
    and each comparable KPI among its peers (:func:`helpers.comparison.compare_kpis`; empty when
    the pack has no peer data), and the quarters of each KPI restated since the previous pack
    (:func:`helpers.revisions.restated_quarters`; empty without a previous pack), for its chart."""

    scorecard: pd.DataFrame
    spc_frames: dict[str, pd.DataFrame]
    peers: dict = field(default_factory=dict)  # KPI id -> helpers.comparison.PeerComparison
    projections: dict = field(default_factory=dict)  # KPI id -> helpers.projections.Projection
    restated: dict = field(default_factory=dict)  # KPI id -> (quarter id, ...) restated since the last pack

    def only(self, kpi_ids: Iterable[str]) -> Kpis:
        """These KPIs' rows, SPC frames, peer comparisons, projections and restated quarters."""
        keep = set(kpi_ids)
        rows = self.scorecard[self.scorecard["Kpi"].isin(keep)].reset_index(drop=True)
        return Kpis(
            rows,
            {k: v for k, v in self.spc_frames.items() if k in keep},
            {k: v for k, v in self.peers.items() if k in keep},
            {k: v for k, v in self.projections.items() if k in keep},
            {k: v for k, v in self.restated.items() if k in keep},
        )


def is_store(folder: Path | str) -> bool:
    return (Path(folder) / STORE_FILE).is_file()


def read_meta(folder: Path | str) -> dict:
    path = Path(folder) / STORE_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: not a readable store record ({exc})") from None
    if meta.get("format") != FORMAT:
        raise StoreError(f"{path}: store format {meta.get('format')!r}, this code reads {FORMAT}; rebuild the pack")
    return meta


def write_table(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write one typed table as Parquet (atomically; kept when already there: the path is named by
    the table's inputs)."""
    path = Path(path)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        frame.to_parquet(temporary, index=False, engine="pyarrow")
        os.replace(temporary, path)
    return path


def write_store(
    folder: Path | str,
    tables: dict[str, Path],
    kpi_inputs: KpiInputs,
    kpis: Kpis | None,
    warnings: Iterable[str] = (),
    detail: Mapping[str, Computed] | None = None,
) -> Path:
    """Write a section's store into ``folder`` (replaced atomically if it exists): the table files
    it reads (from :func:`write_table`), its KPIs, its detail frames and tables
    (:func:`helpers.section_tables.compute_section`, stored with the KPIs' inputs: ``detail`` needs
    ``kpis``), their appendix records and the record."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        if kpis is not None:
            with open(staging / KPIS_FILE, "wb") as handle:
                pickle.dump(
                    (
                        kpis.scorecard,
                        dict(kpis.spc_frames),
                        dict(kpis.peers),
                        dict(kpis.projections),
                        {k: tuple(v) for k, v in kpis.restated.items()},
                    ),
                    handle,
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            with open(staging / DETAIL_FILE, "wb") as handle:
                pickle.dump(dict(detail or {}), handle, protocol=pickle.HIGHEST_PROTOCOL)
        # The appendix: the tables' records in the order the section shows them (helpers.tables.Table.payload)
        records = [c.table.payload() for c in (detail or {}).values() if c.table is not None]
        (staging / APPENDIX_FILE).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        meta = {
            "format": FORMAT,
            "tables": {name: str(Path(path).resolve()) for name, path in sorted(tables.items())},
            "kpis": kpi_inputs.as_dict() if kpis is not None else None,
            "warnings": list(warnings),
        }
        (staging / STORE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if folder.exists():  # a rebuild of the same inputs, e.g. --force: swap in the new copy
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(staging, folder)
        except OSError:  # another build wrote the same store first
            if not is_store(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_tables(folder: Path | str, tables: Iterable[str]) -> Data:
    """The typed tables named (as validated when the store was written); the rest None."""
    folder = Path(folder)
    meta = read_meta(folder)
    wanted = list(tables)
    missing = [t for t in wanted if t not in meta["tables"]]
    if missing:
        raise StoreError(
            f"{folder}: the store holds {', '.join(sorted(meta['tables'])) or 'no table'}, not {', '.join(missing)}"
        )
    data = Data()
    for name in wanted:
        path = Path(meta["tables"][name])
        setattr(data, name, pd.read_parquet(path, engine="pyarrow"))
        data.files[name] = path
    return data


def read_detail_tables(folder: Path | str, kpi_inputs: KpiInputs) -> dict[str, Computed] | None:
    """The stored detail frames and tables (name -> :class:`helpers.section_tables.Computed`, in
    the order shown) when they were computed from the same inputs, else None."""
    meta = read_meta(folder)
    if meta.get("kpis") != kpi_inputs.as_dict() or not (Path(folder) / DETAIL_FILE).is_file():
        return None
    with open(Path(folder) / DETAIL_FILE, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - written by this project's build


def read_appendix(folder: Path | str) -> list[dict]:
    """The appendix records of the section's tables (``{name, title, columns, rows, footnotes}``,
    :meth:`helpers.tables.Table.payload`), in the order the section shows them."""
    read_meta(folder)
    path = Path(folder) / APPENDIX_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: not a readable appendix record ({exc})") from None


def read_kpis(folder: Path | str, kpi_inputs: KpiInputs) -> Kpis | None:
    """The stored KPIs when they were computed from the same inputs, else None."""
    meta = read_meta(folder)
    if meta.get("kpis") != kpi_inputs.as_dict():
        return None
    with open(Path(folder) / KPIS_FILE, "rb") as handle:
        scorecard, spc_frames, peers, projections, restated = pickle.load(handle)  # noqa: S301 - this build's
    return Kpis(scorecard, spc_frames, peers, projections, restated)
