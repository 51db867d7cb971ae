"""Build one pack: validate, run stale sections (any Executor), render, publish atomically.

:func:`build_pack` is what ``boardpack build`` and a batch command call. Exit codes in
:class:`BuildResult`: 0 published (or already up to date), 1 the pack could not be rendered or
published, 2 invalid parameters or data (nothing run), 3 a section failed, 4 the pack is locked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

from boardpack import cache as section_cache
from boardpack import manifest as pack_manifest
from boardpack import publish as publishing
from boardpack import render
from boardpack.execute import SectionResult, SectionTask, execute_section
from boardpack.params import ResolvedParams
from boardpack.sections import SECTIONS, Section

Progress = Callable[[str, str, str], None]  # (section id, state, detail)
log = logging.getLogger("boardpack.build")


@dataclass(frozen=True)
class SectionRecord:
    """How one section went in this build."""

    id: str
    title: str
    status: str  # cached | executed | failed | not run
    cache_hit: bool
    duration_s: float
    fingerprint: str
    content_hash: str = ""
    error: str = ""
    failed_cell_index: Optional[int] = None
    failed_cell_source: str = ""
    kept_notebook: str = ""


@dataclass
class BuildResult:
    exit_code: int
    message: str
    html: Optional[Path] = None
    version_dir: Optional[Path] = None
    sections: list[SectionRecord] = field(default_factory=list)
    log_file: Optional[Path] = None
    up_to_date: bool = False

    @property
    def cache_hits(self) -> list[str]:
        return [s.id for s in self.sections if s.cache_hit]

    @property
    def executed(self) -> list[str]:
        return [s.id for s in self.sections if s.status in ("executed", "failed")]


@dataclass
class _Planned:
    section: Section
    prepared: nbformat.NotebookNode
    fingerprint: str
    inputs: dict[str, dict[str, str]]  # name -> {path, sha256}
    cached: Optional[nbformat.NotebookNode] = None


def build_pack(
    params: ResolvedParams,
    *,
    sections: Optional[list[Section]] = None,
    executor: Optional[Executor] = None,
    jobs: Optional[int] = None,
    force: bool = False,
    pdf: bool = True,
    progress: Optional[Progress] = None,
    built_at: Optional[dt.datetime] = None,
) -> BuildResult:
    """Build and publish the pack described by ``params``; never raises for expected failures."""
    sections = list(SECTIONS if sections is None else sections)
    built_at = built_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    notify = progress or (lambda *_: None)
    log_file = _start_log(params, built_at)
    location = publishing.PackLocation(params.out_dir, params.icb, params.quarter_id)
    try:
        with publishing.pack_lock(params.cache_dir / "locks", params.icb, params.quarter_id):
            result = _build_locked(params, sections, executor, jobs, force, pdf, notify, built_at, location)
    except publishing.BuildLocked as exc:
        result = BuildResult(4, str(exc))
    result.log_file = log_file
    log.info("exit %s: %s", result.exit_code, result.message)
    _stop_log(log_file)
    return result


# -- steps -------------------------------------------------------------------------------------
def _build_locked(params, sections, executor, jobs, force, pdf, notify, built_at, location) -> BuildResult:
    problem = _check_inputs(params, sections)
    if problem:
        return BuildResult(2, problem)
    plans = [_plan(params, s, force) for s in sections]
    pack_key = _pack_key(params, plans, pdf)
    current = _current_manifest(location)
    if not force and current.get("pack_key") == pack_key and all(p.cached is not None for p in plans):
        for plan in plans:
            notify(plan.section.id, "cached", "")
        records = [_record(p, "cached", True, 0.0, p.cached) for p in plans]
        return BuildResult(0, f"already up to date: {location.link / 'board_pack.html'}",
                           html=location.link / "board_pack.html", version_dir=location.link.resolve(),
                           sections=records, up_to_date=True)

    records, executed = _run(params, plans, executor, jobs, notify)
    failed = [r for r in records if r.status == "failed"]
    if failed:
        lines = [f"section {r.id} failed" + (f" at cell {r.failed_cell_index}" if r.failed_cell_index is not None else "")
                 + f": {r.error}" + (f"\n    cell source: {r.failed_cell_source.strip()[:200]}" if r.failed_cell_source else "")
                 + (f"\n    executed notebook kept at {r.kept_notebook}" if r.kept_notebook else "") for r in failed]
        return BuildResult(3, "\n".join(lines) + "\nNothing was published; the previous pack is unchanged.", sections=records)

    staging: Optional[Path] = None
    try:
        staging = publishing.new_staging(location)
        _render(params, plans, executed, staging, pdf, built_at)
        _write_manifest(params, plans, records, staging, built_at, pack_key)
        version = publishing.publish(staging, location)
    except Exception as exc:  # noqa: BLE001 - any render/publish failure: clean up, keep the last pack
        if staging is not None:
            publishing.discard(staging)
        log.exception("render or publish failed")
        return BuildResult(1, f"{type(exc).__name__}: {exc}\nNothing was published; the previous pack is unchanged.",
                           sections=records)
    return BuildResult(0, f"published {location.link}", html=location.link / "board_pack.html",
                       version_dir=version, sections=records)


def _check_inputs(params: ResolvedParams, sections: list[Section]) -> str:
    """Validate notebooks and data before any kernel starts; '' when fine."""
    missing = [str(s.notebook) for s in sections if not Path(s.notebook).is_file()]
    if missing:
        return "section notebook(s) not found: " + ", ".join(missing)
    if params.sample_data and not params.data_dir.is_dir():
        message = _generate_sample(params)
        if message:
            return message
    tables = sorted({t for s in sections for t in s.tables})
    inputs = section_cache.table_files(params.data_dir, tables)
    key = hashlib.sha256(json.dumps({
        "quarter": params.quarter, "tables": tables,
        "files": {t: section_cache.sha256_file(p) for t, p in inputs.items()},
        "code": section_cache.code_hashes(),
    }, sort_keys=True).encode()).hexdigest()
    marker = params.cache_dir / "validated" / key
    if marker.exists():  # these exact files already passed these exact checks
        return ""
    from helpers.loading import DataError, load_data  # pandera is slow to import: only when needed

    try:
        data = load_data(params.data_dir, params.quarter, tables=tables)
    except DataError as exc:
        return str(exc)
    for warning in data.warnings:
        log.warning("data: %s", warning)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return ""


def _generate_sample(params: ResolvedParams) -> str:
    from boardpack import sample_data

    log.info("generating sample data in %s", params.data_dir)
    code = sample_data.run(out=params.data_dir, icb=params.icb, to=params.quarter, scale="icb", seed=20221)
    return "" if code in (0, None) else f"could not generate sample data in {params.data_dir} (exit {code})"


def _section_inputs(params: ResolvedParams, section: Section) -> dict[str, Path]:
    inputs = section_cache.table_files(params.data_dir, section.tables)
    commentary = params.commentary_dir / params.quarter_id / f"{section.id}.md"
    if commentary.is_file():
        inputs["commentary"] = commentary
    if params.targets_file and params.targets_file.is_file():
        inputs["targets"] = params.targets_file
    return inputs


def _plan(params: ResolvedParams, section: Section, force: bool) -> _Planned:
    values = params.notebook_parameters()
    inputs = _section_inputs(params, section)
    key, hashes = section_cache.fingerprint(Path(section.notebook), values, inputs)
    prepared = section_cache.prepare_notebook(Path(section.notebook), {**values, "fingerprint": key})
    cached = None if force else _cache(params).lookup(prepared)
    files = {name: {"path": str(path), "sha256": hashes[str(path)]} for name, path in inputs.items()}
    return _Planned(section, prepared, key, files, cached)


_caches: dict[Path, section_cache.SectionCache] = {}
_caches_lock = threading.Lock()


def _cache(params: ResolvedParams) -> section_cache.SectionCache:
    """One cache object per cache folder in this driver process (shared by builds in threads)."""
    with _caches_lock:
        if params.cache_dir not in _caches:
            _caches[params.cache_dir] = section_cache.SectionCache(params.cache_dir)
        return _caches[params.cache_dir]


def _run(params, plans, executor, jobs, notify) -> tuple[list[SectionRecord], dict[str, nbformat.NotebookNode]]:
    """Execute the stale sections; the driver alone writes the cache. Returns records in plan order."""
    work = params.cache_dir / "work" / params.icb / params.quarter_id / f"{os.getpid()}-{time.time_ns()}"
    failed_dir = params.cache_dir / "failed" / params.icb / params.quarter_id
    deadline = time.time() + params.run_timeout
    records: dict[str, SectionRecord] = {}
    notebooks: dict[str, nbformat.NotebookNode] = {}
    tasks: dict[str, SectionTask] = {}
    for plan in plans:
        sid = plan.section.id
        if plan.cached is not None:
            notify(sid, "cached", "")
            records[sid] = _record(plan, "cached", True, 0.0, plan.cached)
            notebooks[sid] = plan.cached
            continue
        work.mkdir(parents=True, exist_ok=True)
        prepared_path = work / f"{sid}.prepared.ipynb"
        nbformat.write(plan.prepared, prepared_path)
        tasks[sid] = SectionTask(
            section_id=sid,
            prepared_notebook=str(prepared_path),
            output_notebook=str(work / f"{sid}.ipynb"),
            failed_dir=str(failed_dir),
            cwd=str(Path(plan.section.notebook).resolve().parent),
            cell_timeout=params.execution_timeout,
            deadline=deadline,
        )
    by_id = {p.section.id: p for p in plans}
    if tasks:
        own_pool = executor is None
        if own_pool:
            workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context())
        try:
            futures: dict[Future, str] = {}
            for sid, task in tasks.items():
                notify(sid, "running", "")
                futures[executor.submit(execute_section, task)] = sid
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=max(0.0, deadline - time.time()) + 5, return_when=FIRST_COMPLETED)
                if not done:  # whole-run limit passed: give up on what is still running
                    for future in pending:
                        sid = futures[future]
                        future.cancel()
                        notify(sid, "failed", "whole-run timeout")
                        records[sid] = _record(by_id[sid], "failed", False, 0.0, None,
                                               error=f"still running when the whole-run limit ({params.run_timeout} s) passed")
                    if own_pool:
                        _stop_pool(executor)
                    break
                for future in done:
                    sid = futures[future]
                    try:
                        result: SectionResult = future.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker is a failed section
                        result = SectionResult(sid, False, tasks[sid].output_notebook, 0.0, 0, error=f"worker failed: {exc!r}")
                    records[sid], nb = _collect(params, by_id[sid], result)
                    if nb is not None:
                        notebooks[sid] = nb
                    notify(sid, records[sid].status if records[sid].status == "failed" else "done",
                           records[sid].error or f"{result.duration_s:.1f} s")
        finally:
            if own_pool:
                executor.shutdown(wait=True, cancel_futures=True)
        # A failed section's notebook was copied to failed_dir by its worker; the rest is scratch.
        shutil.rmtree(work, ignore_errors=True)
    return [records[p.section.id] for p in plans], notebooks


def _worker_context() -> multiprocessing.context.BaseContext:
    # forkserver: workers fork from a clean server (not from a driver with threads), and preload
    # our module instead of re-running the caller's __main__.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["boardpack.execute"])
    return context


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    # Only the pool this build created: its worker processes (kernels watch their parent and exit).
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()


def _collect(params, plan: _Planned, result: SectionResult):
    if not result.ok:
        log.error("section %s failed: %s", plan.section.id, result.error)
        return _record(plan, "failed", False, result.duration_s, None, error=result.error,
                       failed_cell_index=result.failed_cell_index, failed_cell_source=result.failed_cell_source,
                       kept_notebook=result.kept_notebook), None
    executed = section_cache.strip_volatile(nbformat.read(result.output_notebook, as_version=4))
    cache = _cache(params)
    cache.store(plan.prepared, executed, uri=str(plan.section.notebook))
    merged = cache.lookup(plan.prepared)
    if merged is None:  # the cache must give back what it was given
        raise RuntimeError(f"section {plan.section.id}: cache did not return the notebook just stored")
    log.info("section %s executed in %.1f s", plan.section.id, result.duration_s)
    return _record(plan, "executed", False, result.duration_s, merged), merged


def _record(plan: _Planned, status: str, hit: bool, duration: float, nb, **failure) -> SectionRecord:
    return SectionRecord(
        id=plan.section.id, title=plan.section.title, status=status, cache_hit=hit,
        duration_s=round(duration, 3), fingerprint=plan.fingerprint,
        content_hash=section_cache.content_hash(nb) if nb is not None else "", **failure,
    )


def _render(params: ResolvedParams, plans, notebooks, staging: Path, pdf: bool, built_at: dt.datetime) -> None:
    from helpers.population import icb_name

    parts = [render.SectionNotebook(p.section.id, p.section.title, notebooks[p.section.id]) for p in plans]
    for part in parts:
        render.check_alt_text(part)
    cover = render.Cover(params.icb, icb_name(params.icb), params.quarter, built_at.date().isoformat(), params.sample_data)
    merged = render.merge(cover, parts)
    document = render.write_html(merged, staging / "board_pack.html")
    if pdf:
        render.write_pdf(document, staging / "board_pack.pdf")
    tables = [(part.id, t) for part in parts for t in render.extract_tables(part.notebook)]
    render.write_appendix(tables, staging / "appendix")


def _write_manifest(params, plans, records, staging: Path, built_at: dt.datetime, pack_key: str) -> None:
    inputs = {}
    for plan in plans:
        inputs.update(plan.inputs)
    pack_manifest.write_manifest(staging, {
        "pack": {"icb": params.icb, "quarter": params.quarter, "quarter_id": params.quarter_id},
        "built_at": built_at.isoformat(),
        "parameters": params.log_dict(),
        "inputs": dict(sorted(inputs.items())),
        "sections": [asdict(r) for r in records],
        "pack_key": pack_key,
    })


def _pack_key(params: ResolvedParams, plans, pdf: bool) -> str:
    """Everything the published files depend on besides the build date."""
    package_dir = Path(render.__file__).resolve().parent
    code = {str(p.relative_to(package_dir)): section_cache.sha256_file(p)
            for p in sorted(package_dir.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    material = {"sections": [(p.section.id, p.section.title, p.fingerprint) for p in plans], "pdf": pdf,
                "out": str(params.out_dir), "code": code}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _current_manifest(location: publishing.PackLocation) -> dict:
    try:
        return json.loads((location.link / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- logging -----------------------------------------------------------------------------------
def _start_log(params: ResolvedParams, built_at: dt.datetime) -> Path:
    folder = params.cache_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"build-{params.icb}-{params.quarter_id}-{built_at:%Y%m%dT%H%M%S}-{os.getpid()}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.set_name(str(path))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info("resolved parameters: %s", json.dumps(params.log_dict(), sort_keys=True))
    return path


def _stop_log(path: Path) -> None:
    for handler in list(log.handlers):
        if handler.get_name() == str(path):
            handler.close()
            log.removeHandler(handler)
