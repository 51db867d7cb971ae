"""The KPI stage: a pack's tables validated once, its headline KPIs computed once, one store per section.

The driver runs it before any section: :func:`write_stores` reads and validates the tables the
pack's sections read (or, for an extract of a validated many-ICB folder, reads them typed), computes
the scorecard and its SPC frames once (:func:`helpers.section.compute_kpis`), each section's detail
tables once (:func:`helpers.section_tables.compute_section`), and writes each section's store
(:mod:`helpers.store`): the tables as typed Parquet, shared by file, the section's rows of the KPIs,
its detail frames and tables, and their appendix records (the pack's appendix is written from
these). A store is named by its section's own inputs (:func:`store_dir`), so a
rebuild reuses it and a changed table renews only the stores of the sections reading it.

Given the previous quarter's pack's record, it compares it with this pack's once
(:func:`helpers.revisions.revisions`) and stores each section's KPIs' restated quarters with its
KPIs, so each KPI's chart marks them; a store is then named by the previous pack's manifest too, so
a new previous pack renews every store (and so re-runs every section).

It also writes the pack's record of its headline figures (:mod:`helpers.pack_record`: every KPI's
quarterly history, RAG, icons and signals, the deliverables' statuses), which the driver puts in
the pack's manifest.json; the record's file is named by all the pack's stores (:func:`record_path`),
so an unchanged rebuild reads it back instead of computing the KPIs again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from boardpack import hashing
from boardpack.extracts import PackData
from boardpack.params import ResolvedParams
from boardpack.sections import Section


def write_stores(
    params: ResolvedParams,
    data: PackData,
    stores: dict[Section, Path],
    force: bool,
    log: logging.Logger,
    previous_record: dict[str, Any] | None = None,
) -> tuple[str, list[str], int, dict[str, Any] | None]:
    """(problem or '', the data's warnings, how many stores were written, the pack's record of
    its headline figures or None when the data have a problem). Stores (and the record) already
    there are kept unless ``force``. ``previous_record``: the previous pack's record
    (:class:`helpers.pack_record.PreviousPack`), None when there is none; the stores' names must
    then depend on it (:func:`store_dir`'s ``previous_manifest``)."""
    from helpers import store

    missing = {section: folder for section, folder in stores.items() if force or not store.is_store(folder)}
    record_file = record_path(params, stores)
    record = _read_json(record_file) if not missing else None
    if record is not None:
        first = next(iter(stores.values()), None)
        return "", list(store.read_meta(first)["warnings"]) if first else [], 0, record
    from helpers import (
        extract,
        icb_frames,
        icb_histories,
        kpi_deliverables,
        pack_record,
        revisions,
        section as opened,
        targets as targets_file,
    )
    from helpers.loading import load_data
    from helpers.problems import DataError
    from helpers.quarters import parse, parse_range

    tables = sorted({t for section in stores for t in section.tables})
    optional = sorted({t for section in stores for t in section.optional})
    tables += sorted(hashing.table_files(params.data_dir, optional))  # optional tables the folder has
    try:
        if data.validated:  # cut from a folder that passed every check for this quarter
            frames = extract.read_icb_tables(params.data_dir, tables)
            warnings = list(data.source.get("warnings", []))
        else:
            frames = load_data(params.data_dir, params.quarter, tables=tables)
            warnings = [str(w) for w in frames.warnings]
    except DataError as exc:
        return str(exc), [], 0, None
    for warning in warnings:
        log.warning("data: %s", warning)
    baseline = tuple(q.id for q in parse_range(params.baseline_period))
    targets = targets_file.load_targets(params.targets_file) if params.targets_file else {}
    histories: dict = {}
    # what the one pass over the pack's many-ICB folder gave its ICB (none for a one-ICB folder)
    given_rows = _icb_histories(data, params.icb) if data.histories else None
    given = icb_histories.series_of(given_rows, params.icb) if given_rows is not None else None
    given_frames = _every_icbs_frames(data)
    kpis = opened.compute_kpis(
        frames,
        parse(params.quarter),
        params.icb,
        targets,
        baseline,
        params.peers,
        histories=histories,
        given_series=given,
        # the extract's peer data are its folder's counts, computed from the same rows by the cut
        own_from_peer_data=data.validated,
    )
    record = pack_record.record_of(
        frames,
        params.quarter,
        params.icb,
        kpis,
        histories,
        given_counts=icb_histories.counts_of(given_rows, params.icb) if given_rows is not None else None,
        given_deliverables=given_frames.get(icb_frames.name_of(kpi_deliverables.deliverables_rag)),
    )
    record["data"] = _freshness(frames, params)
    _write_json(record_file, record)
    found = revisions.revisions(previous_record, record)
    restated = {
        kpi: tuple(revisions.restated_quarters(found, kpi)) for kpi in dict.fromkeys(r.kpi for r in found or ())
    }
    kpis = dataclasses.replace(kpis, restated=restated)
    kpi_inputs = store.KpiInputs.of(params.quarter, params.icb, params.targets_file, baseline, params.peers)
    files = hashing.table_files(params.data_dir, tables)
    table_paths = {
        name: store.write_table(frames.table(name), table_path(params, name, files[name]))
        for name in tables
        if frames.table(name) is not None
    }
    for section, folder in missing.items():
        # a section the helpers do not know (a project's own notebook) shows no headline KPI and
        # declares no detail table
        shown = opened.section_kpis(kpis, section.id) if section.id in opened.SECTION_IDS else kpis.only(())
        detail = _detail_tables(section.id, frames, params, targets, baseline, shown, given_frames, log)
        store.write_store(
            folder,
            {name: table_paths[name] for name in section.inputs if name in table_paths},
            kpi_inputs,
            shown,
            warnings,
            detail,
        )
    return "", warnings, len(missing), record


def _icb_histories(data: PackData, icb: str):
    """The pack's ICB's rows of the histories its many-ICB folder's cut computed for every ICB in
    one pass (:func:`boardpack.extracts.extract_all`)."""
    import pandas as pd

    return pd.read_parquet(data.histories, filters=[("IcbCode", "==", icb)])


def _every_icbs_frames(data: PackData) -> dict:
    """The pack's ICB's detail frames (rule name -> frame, :mod:`helpers.icb_frames`) from the pass
    its many-ICB folder's cut made over every ICB; empty when there is none (each is computed)."""
    import pickle

    if data.frames is None:
        return {}
    with open(data.frames, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - written by this project's build (boardpack.extracts)


def record_path(params: ResolvedParams, stores: dict[Section, Path]) -> Path:
    """The pack's record file, named by all its stores (so by every input of its KPIs)."""
    key = _key({"stores": sorted(Path(folder).name for folder in stores.values())})
    return params.cache_dir / "store" / params.icb / params.quarter_id / f"record-{key}.json"


def _read_json(path: Path) -> dict | None:
    """The record written earlier; None when absent or unreadable (it is then computed again)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(content, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _detail_tables(
    section_id, frames, params: ResolvedParams, targets, baseline, shown, given_frames: dict, log: logging.Logger
):
    """The section's detail frames and tables (:func:`helpers.section_tables.compute_section`), once;
    one that fails is logged and left to the section, which raises it at its cell. ``given_frames``:
    the ICB's frames from its folder's one pass (the rest are computed from ``frames``)."""
    import warnings as python_warnings

    from helpers import section_tables
    from helpers.quarters import parse
    from helpers.spc import TrialLimitsWarning

    inputs = section_tables.TableInputs(
        section_id,
        frames,
        parse(params.quarter),
        params.icb,
        targets,
        baseline,
        shown.scorecard,
        shown.peers,
        given_frames,
    )
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore", TrialLimitsWarning)  # shown in the charts' legends instead
        detail = section_tables.compute_section(inputs)
    for computed in detail.values():
        if computed.error:
            log.warning(
                "section %s: table %s: %s (the section computes it again)", section_id, computed.name, computed.error
            )
    return detail


def _freshness(frames, params: ResolvedParams) -> dict:
    """For the cover and the manifest: how far the data reach, when they were extracted, which
    tables are stale (:mod:`helpers.freshness`)."""
    from helpers import freshness

    fresh = freshness.freshness(
        frames, params.quarter, freshness.load_extract(params.data_dir), params.stale_after_days
    )
    return {
        "cover": freshness.cover_line(fresh),
        "stale": freshness.stale_tables(fresh),
        "tables": {
            row.Table: {
                "data_to": row.DataTo.isoformat() if row.DataTo is not None else None,
                "extracted": row.Extracted.isoformat() if row.Extracted is not None else None,
                "stale": bool(row.Stale),
            }
            for row in fresh.itertuples()
        },
    }


def _store_material(params: ResolvedParams, previous_manifest: Path | None = None) -> dict:
    """What every store depends on besides its tables' files: quarter, ICB, targets, baseline,
    code, and the previous pack's manifest (its record says which figures this pack restates)."""
    return {
        "quarter": params.quarter,
        "icb": params.icb,
        "targets": hashing.sha256_file(params.targets_file) if params.targets_file else "",
        "baseline": params.baseline_period,
        "peers": params.peers,
        "stale_after_days": params.stale_after_days,
        "extract": hashing.sha256_file(extract) if (extract := hashing.extract_file(params.data_dir)) else "",
        "code": hashing.code_hashes(),
        "previous": hashing.sha256_file(previous_manifest) if previous_manifest else "",
    }


def _key(material: dict) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def table_path(params: ResolvedParams, table: str, source: Path) -> Path:
    """A validated table's Parquet file, named by its source file, the quarter and the code."""
    key = _key({"file": hashing.sha256_file(source), "quarter": params.quarter, "code": hashing.code_hashes()})
    return params.cache_dir / "store" / "tables" / f"{table}-{key}.parquet"


def store_dir(params: ResolvedParams, section: Section, previous_manifest: Path | None = None) -> Path:
    """A section's store, named by everything its content depends on: its tables' files, the
    quarter, ICB, targets, baseline, the helpers' code and the previous pack's manifest
    (``previous_manifest``, :attr:`helpers.pack_record.PreviousPack.manifest`; None: no previous pack)."""
    files = hashing.table_files(params.data_dir, section.inputs)
    material = {
        **_store_material(params, previous_manifest),
        "section": section.id,
        "files": {t: hashing.sha256_file(p) for t, p in files.items()},
    }
    return params.cache_dir / "store" / params.icb / params.quarter_id / f"{section.id}-{_key(material)}"
