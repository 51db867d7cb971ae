"""One pack's build as steps: lock, fingerprint, the KPI stage, the stale sections' tasks, assemble, publish.

:class:`PackBuild` holds the steps; :func:`boardpack.scheduler.run_builds` drives any number of
them over one executor; :func:`build_pack` is one pack, what ``boardpack build`` calls. Exit codes in
:class:`BuildResult`: 0 published (or already up to date), 1 the pack could not be rendered or
published, 2 invalid parameters or data (nothing run), 3 a section failed, 4 the pack is locked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from boardpack import (
    cache as section_cache,
    extracts,
    hashing,
    kpi_stage,
    manifest as pack_manifest,
    publish as publishing,
)
from boardpack.execute import AssembleResult, AssembleTask, SectionResult, SectionTask
from boardpack.params import ResolvedParams
from boardpack.sections import SECTIONS, Section

SUMMARY = "00_summary"  # the section given the previous pack and the pack's KPI record

if TYPE_CHECKING:  # nbformat is imported where a pack is built: an unchanged rebuild needs none of it
    import nbformat

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
    failed_cell_index: int | None = None
    failed_cell_source: str = ""
    kept_notebook: str = ""


@dataclass
class BuildResult:
    exit_code: int
    message: str
    html: Path | None = None
    version_dir: Path | None = None
    sections: list[SectionRecord] = field(default_factory=list)
    log_file: Path | None = None
    up_to_date: bool = False
    duration_s: float = 0.0
    data_warnings: list[str] = field(default_factory=list)  # the data passed, with these notes (file, row, column)

    @property
    def cache_hits(self) -> list[str]:
        return [s.id for s in self.sections if s.cache_hit]

    @property
    def executed(self) -> list[str]:
        return [s.id for s in self.sections if s.status in ("executed", "failed")]


@dataclass
class _Planned:
    section: Section
    parameters: dict  # injected into the notebook (store_dir: the section's validated tables and KPIs)
    store_dir: Path
    fingerprint: str
    inputs: dict[str, dict[str, str]]  # name -> {path, sha256}
    prepared: nbformat.NotebookNode | None = None  # set once the pack is known to be stale
    cached: nbformat.NotebookNode | None = None


def build_pack(
    params: ResolvedParams,
    *,
    sections: list[Section] | None = None,
    executor: Executor | None = None,
    jobs: int | None = None,
    force: bool = False,
    pdf: bool = True,
    progress: Progress | None = None,
    built_at: dt.datetime | None = None,
) -> BuildResult:
    """Build and publish the pack described by ``params``; never raises for expected failures."""
    from boardpack.scheduler import run_builds

    pack = PackBuild(params, sections=sections, force=force, pdf=pdf, progress=progress, built_at=built_at)
    return run_builds([pack], executor=executor, jobs=jobs).results[0]


# -- one pack, driven step by step -------------------------------------------------------------
class PackBuild:
    """One pack's build as steps the driver takes: start (lock, validate, plan), the stale sections'
    tasks, each section's result, the assemble task, publish. :func:`run_builds` drives any number
    of these over one executor, so ``boardpack build`` and ``boardpack batch`` share every step.
    Only the driver calls these methods: it alone writes the cache, the manifest and the pack.
    """

    def __init__(
        self,
        params: ResolvedParams,
        *,
        sections: list[Section] | None = None,
        force: bool = False,
        pdf: bool = True,
        progress: Progress | None = None,
        built_at: dt.datetime | None = None,
    ):
        self.params = params
        self.source_data_dir = params.data_dir
        self.data = extracts.PackData(params.data_dir)
        self.data_warnings: list[str] = []
        self.sections = list(SECTIONS if sections is None else sections)
        self.force, self.pdf = force, pdf
        self.notify: Progress = progress or (lambda *_: None)
        self.built_at = built_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.deadline: float | None = None  # set by start(): run_timeout counts from when this pack starts
        self.location = publishing.PackLocation(params.out_dir, params.icb, params.quarter_id)
        self.result: BuildResult | None = None
        self.plans: list[_Planned] = []
        self.records: dict[str, SectionRecord] = {}
        self.notebooks: dict[str, nbformat.NotebookNode] = {}
        self.tasks: dict[str, SectionTask] = {}
        self.staging: Path | None = None
        self.log_file: Path | None = None
        self.log = log
        self.started = time.monotonic()
        self.pack_key = ""
        self.on_stale: Callable[[], None] = lambda: None  # the driver's hook: this pack has work to run
        self.previous = None  # helpers.pack_record.PreviousPack: the previous quarter's pack, if any
        self.record: dict | None = None  # this pack's record of its headline figures (the KPI stage's)
        self._lock = None
        self._work: Path | None = None

    @property
    def done(self) -> bool:
        return self.result is not None

    # step 1
    def start(self) -> None:
        """Take the pack's lock and fingerprint the sections: finish at once when the published pack
        was built from the same fingerprints (nothing validated, imported or looked up); else
        validate the data and compute the KPIs once into the pack's store, and plan the sections."""
        self.log_file, self.log = _start_log(self.params, self.built_at)
        lock = publishing.pack_lock(self.params.cache_dir / "locks", self.params.icb, self.params.quarter_id)
        try:
            lock.__enter__()
        except publishing.BuildLocked as exc:
            return self._finish(BuildResult(4, str(exc)))
        self._lock = lock
        # Per pack, from its start: a batch starts packs only as workers free up, so a long batch
        # is not cut off, while a hung pack still is.
        self.deadline = time.time() + self.params.run_timeout
        current = _current_manifest(self.location)
        if self.force or not current:
            self.on_stale()  # nothing published (or --force): sections will run; warm the workers now
        problem = self._find_inputs() or self._find_previous()
        if problem:
            return self._finish(BuildResult(2, problem))
        previous_manifest = self.previous.manifest if self.previous else None
        stores = {s: kpi_stage.store_dir(self.params, s, previous_manifest) for s in self.sections}
        summary = {
            "previous_pack": str(self.previous.folder) if self.previous else "",
            "kpi_record": str(kpi_stage.record_path(self.params, stores)),
        }
        self.plans = [_plan(self.params, s, summary if s.id == SUMMARY else None, self.previous) for s in self.sections]
        self.pack_key = _pack_key(self.params, self.plans, self.pdf, self.previous)
        if not self.force and current.get("pack_key") == self.pack_key:
            published = {s.get("id"): s for s in current.get("sections", [])}
            for plan in self.plans:
                self.notify(plan.section.id, "cached", "")
            self.data_warnings = list(current.get("data_warnings", []))
            link = self.location.link
            return self._finish(
                BuildResult(
                    0,
                    f"already up to date: {link / 'board_pack.html'}",
                    html=link / "board_pack.html",
                    version_dir=link.resolve(),
                    sections=[
                        _record(p, "cached", True, 0.0, None, published.get(p.section.id, {}).get("content_hash", ""))
                        for p in self.plans
                    ],
                    up_to_date=True,
                )
            )
        self.on_stale()
        problem = self._store()
        if problem:
            return self._finish(BuildResult(2, problem))
        self._work = (
            self.params.cache_dir
            / "work"
            / self.params.icb
            / self.params.quarter_id
            / f"{os.getpid()}-{time.time_ns()}"
        )
        self._work.mkdir(parents=True, exist_ok=True)
        failed_dir = self.params.cache_dir / "failed" / self.params.icb / self.params.quarter_id
        for plan in self.plans:
            sid = plan.section.id
            if not self.force and _stored(self.params, plan.fingerprint):  # else not in the cache: no lookup
                plan.prepared = section_cache.prepare_notebook(Path(plan.section.notebook), plan.parameters)
                plan.cached = _cache(self.params).lookup(plan.prepared)
            if plan.cached is not None:
                self.notify(sid, "cached", "")
                self.records[sid] = _record(plan, "cached", True, 0.0, plan.cached)
                self.notebooks[sid] = plan.cached
                continue
            self.tasks[sid] = SectionTask(
                section_id=sid,
                prepared_notebook=str(self._work / f"{sid}.prepared.ipynb"),
                output_notebook=str(self._work / f"{sid}.ipynb"),
                failed_dir=str(failed_dir),
                cwd=str(Path(plan.section.notebook).resolve().parent),
                cell_timeout=self.params.execution_timeout,
                deadline=self.deadline,
                engine=self.params.engine,
                # the worker (warm: papermill imported) injects the parameters
                source_notebook=str(Path(plan.section.notebook).resolve()),
                parameters=plan.parameters,
            )
        self.log.info(
            "%d section(s) to run, %d from the cache (%.2f s into the build)",
            len(self.tasks),
            len(self.plans) - len(self.tasks),
            time.monotonic() - self.started,
        )
        return None

    def _find_inputs(self) -> str:
        """'' when the notebooks and data folder can be used; switches to the ICB's extract of a
        many-ICB folder (validated there, once for every ICB)."""
        params = self.params
        problem = _check_notebooks(self.sections)
        if not problem and params.sample_data and not params.data_dir.is_dir():
            problem = _generate_sample(params)
        if problem:
            return problem
        from helpers.problems import DataError

        try:
            self.data = extracts.data_for_pack(
                params.data_dir, params.icb, params.quarter, params.cache_dir, kpi_params(params)
            )
        except (DataError, extracts.ExtractError) as exc:
            return str(exc)
        if self.data.folder != params.data_dir:
            self.log.info("reading %s's rows of %s from %s", params.icb, params.data_dir, self.data.folder)
            self.params = params.model_copy(update={"data_dir": self.data.folder})
        return ""

    def _find_previous(self) -> str:
        """'' when the previous quarter's pack is found and its record read, or there is none
        (:func:`helpers.pack_record.find_previous`); else why its record cannot be used."""
        from helpers import pack_record

        params = self.params
        try:
            self.previous = pack_record.find_previous(params.out_dir, params.icb, params.quarter, params.previous_pack)
        except pack_record.RecordError as exc:
            return f"previous pack: {exc}"
        if self.previous is not None:
            self.log.info("previous pack: %s (%s)", self.previous.folder, self.previous.quarter.label)
        return ""

    def _store(self) -> str:
        """The KPI stage (:func:`boardpack.kpi_stage.write_stores`); '' or the data's problems."""
        from boardpack import kpi_stage

        problem, self.data_warnings, written, self.record = kpi_stage.write_stores(
            self.params,
            self.data,
            {p.section: p.store_dir for p in self.plans},
            self.force,
            self.log,
            self.previous.record if self.previous else None,
        )
        if written:
            self.log.info(
                "validated the data and computed the KPIs once for %d section store(s) (%.2f s into the build)",
                written,
                time.monotonic() - self.started,
            )
        return problem

    # step 2
    def section_finished(self, section_id: str, result: SectionResult) -> None:
        self.records[section_id], nb = _collect(self.params, self._plan_of(section_id), result, self.log)
        if nb is not None:
            self.notebooks[section_id] = nb
        record = self.records[section_id]
        self.notify(
            section_id, "failed" if record.status == "failed" else "done", record.error or f"{result.duration_s:.1f} s"
        )

    def section_lost(self, section_id: str, error: str) -> None:
        """A section whose task gave no result (a lost worker, or the pack's run limit passed)."""
        self.records[section_id] = _record(self._plan_of(section_id), "failed", False, 0.0, None, error=error)
        self.notify(section_id, "failed", error)

    @property
    def sections_done(self) -> bool:
        return all(sid in self.records for sid in self.tasks)

    # step 3
    def end_if_a_section_failed(self) -> bool:
        """End the build (exit 3, nothing published) when any section failed; True when it did."""
        failed = [r for r in self._records() if r.status == "failed"]
        if failed:
            lines = [
                f"section {r.id} failed"
                + (f" at cell {r.failed_cell_index}" if r.failed_cell_index is not None else "")
                + f": {r.error}"
                + (f"\n    cell source: {r.failed_cell_source.strip()[:200]}" if r.failed_cell_source else "")
                + (f"\n    executed notebook kept at {r.kept_notebook}" if r.kept_notebook else "")
                for r in failed
            ]
            self._finish(
                BuildResult(
                    3,
                    "\n".join(lines) + "\nNothing was published; the previous pack is unchanged.",
                    sections=self._records(),
                )
            )
        return bool(failed)

    def assemble_task(self) -> AssembleTask | None:
        """The task rendering the pack into a staging folder; None when the build ends here (exit 3 or 1)."""
        if self.end_if_a_section_failed():
            return None
        from helpers.population import icb_name

        try:
            self.staging = publishing.new_staging(self.location)
        except publishing.PublishError as exc:
            self._finish(
                BuildResult(
                    1, f"{exc}\nNothing was published; the previous pack is unchanged.", sections=self._records()
                )
            )
            return None
        parts = []
        for plan in self.plans:
            path = self._work / f"{plan.section.id}.final.ipynb"
            _nbformat().write(self.notebooks[plan.section.id], path)
            parts.append((plan.section.id, plan.section.title, str(path)))
        return AssembleTask(
            icb=self.params.icb,
            icb_name=icb_name(self.params.icb),
            quarter=self.params.quarter,
            built_date=self.built_at.date().isoformat(),
            sample_data=self.params.sample_data,
            sections=tuple(parts),
            staging=str(self.staging),
            pdf=self.pdf,
            stores=tuple(str(plan.store_dir) for plan in self.plans),
            data_line=((self.record or {}).get("data") or {}).get("cover", ""),
        )

    # step 4
    def assembled(self, result: AssembleResult) -> None:
        """Write the manifest into the rendered staging folder and publish it atomically."""
        try:
            if not result.ok:
                raise AssembleFailed(result.error)
            _write_manifest(self)
            version = publishing.publish(self.staging, self.location)
        except Exception as exc:  # noqa: BLE001 - any render/publish failure: clean up, keep the last pack
            publishing.discard(self.staging)
            self.log.error("render or publish failed: %s", exc)
            text = str(exc) if isinstance(exc, AssembleFailed) else f"{type(exc).__name__}: {exc}"
            return self._finish(
                BuildResult(
                    1, f"{text}\nNothing was published; the previous pack is unchanged.", sections=self._records()
                )
            )
        self._finish(
            BuildResult(
                0,
                f"published {self.location.link}",
                html=self.location.link / "board_pack.html",
                version_dir=version,
                sections=self._records(),
            )
        )

    def abandon(self, error: str) -> None:
        """End a build the driver cannot finish: nothing is published."""
        if self.staging is not None:
            publishing.discard(self.staging)
        self._finish(
            BuildResult(1, f"{error}\nNothing was published; the previous pack is unchanged.", sections=self._records())
        )

    def _records(self) -> list[SectionRecord]:
        return [self.records[p.section.id] for p in self.plans if p.section.id in self.records]

    def _plan_of(self, section_id: str) -> _Planned:
        return next(p for p in self.plans if p.section.id == section_id)

    def _finish(self, result: BuildResult) -> None:
        if self.result is not None:
            return
        result.log_file = self.log_file
        result.data_warnings = list(self.data_warnings)
        result.duration_s = round(time.monotonic() - self.started, 3)
        self.result = result
        self.log.info("exit %s: %s", result.exit_code, result.message)
        if self._work is not None:  # a failed section's notebook was copied to .cache/failed; the rest is scratch
            shutil.rmtree(self._work, ignore_errors=True)
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None
        if self.log_file is not None:
            _stop_log(self.log, self.log_file)


class AssembleFailed(RuntimeError):
    """The assemble task reported a failure (its message says which step and why)."""


def _nbformat():
    import nbformat

    return nbformat


def kpi_params(params: ResolvedParams) -> extracts.KpiParams:
    """What the headline KPI histories depend on besides the data (:class:`boardpack.extracts.KpiParams`)."""
    return extracts.KpiParams(params.baseline_period, params.targets_file)


def _check_notebooks(sections: list[Section]) -> str:
    missing = [str(s.notebook) for s in sections if not Path(s.notebook).is_file()]
    return "section notebook(s) not found: " + ", ".join(missing) if missing else ""


def _generate_sample(params: ResolvedParams) -> str:
    from sampledata import generate

    log.info("generating sample data in %s", params.data_dir)
    code = generate.run(out=params.data_dir, icb=params.icb, to=params.quarter, scale="icb", seed=20221)
    return "" if code in (0, None) else f"could not generate sample data in {params.data_dir} (exit {code})"


def _section_inputs(params: ResolvedParams, section: Section) -> dict[str, Path]:
    inputs = hashing.table_files(params.data_dir, section.inputs)
    extract = hashing.extract_file(params.data_dir)
    if extract is not None:  # its dates are on the charts (stale data) and the cover
        inputs["extract"] = extract
    commentary = params.commentary_dir / params.quarter_id / f"{section.id}.md"
    if commentary.is_file():
        inputs["commentary"] = commentary
    if params.targets_file and params.targets_file.is_file():
        inputs["targets"] = params.targets_file
    return inputs


def _plan(params: ResolvedParams, section: Section, extra: dict | None = None, previous=None) -> _Planned:
    """``extra``: parameters for this section only (the summary's previous pack and KPI record);
    ``previous``: the previous pack, whose manifest then names every section's store (its restated
    points are marked on the charts) and is an input of the summary."""
    store_dir = kpi_stage.store_dir(params, section, previous.manifest if previous else None)
    values = {**params.notebook_parameters(), **(extra or {}), "store_dir": str(store_dir)}
    inputs = _section_inputs(params, section)
    if extra is not None and previous is not None:
        inputs["previous_pack"] = previous.manifest
    key, hashes = hashing.fingerprint(Path(section.notebook), values, inputs)
    files = {name: {"path": str(path), "sha256": hashes[str(path)]} for name, path in inputs.items()}
    return _Planned(section, {**values, "fingerprint": key}, store_dir, key, files)


_caches: dict[Path, section_cache.SectionCache] = {}
_caches_lock = threading.Lock()


def _stored(params: ResolvedParams, fingerprint: str, mark: bool = False) -> bool:
    """Whether this build's driver stored a section of ``fingerprint`` in the cache (a marker file;
    ``mark`` writes it). Only a marked fingerprint is looked up: a cold build never opens the cache
    before its sections run (jupyter-cache and papermill load in ~2 s)."""
    marker = params.cache_dir / "sections" / fingerprint
    if mark:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return marker.is_file()


def _cache(params: ResolvedParams) -> section_cache.SectionCache:
    """One cache object per cache folder in this driver process (shared by builds in threads)."""
    with _caches_lock:
        if params.cache_dir not in _caches:
            _caches[params.cache_dir] = section_cache.SectionCache(params.cache_dir)
        return _caches[params.cache_dir]


# What every local worker starts with: the fork engine's warm set and the renderer (assemble tasks).
def _collect(params, plan: _Planned, result: SectionResult, pack_log: logging.Logger):
    if not result.ok:
        pack_log.error("section %s failed: %s", plan.section.id, result.error)
        return _record(
            plan,
            "failed",
            False,
            result.duration_s,
            None,
            error=result.error,
            failed_cell_index=result.failed_cell_index,
            failed_cell_source=result.failed_cell_source,
            kept_notebook=result.kept_notebook,
        ), None
    nbformat = _nbformat()
    executed = section_cache.strip_volatile(nbformat.read(result.output_notebook, as_version=4))
    prepared = nbformat.read(result.prepared_notebook, as_version=4)  # as the worker parameterised it
    cache = _cache(params)
    cache.store(prepared, executed, uri=str(plan.section.notebook))
    merged = cache.lookup(prepared)
    if merged is None:  # the cache must give back what it was given
        raise RuntimeError(f"section {plan.section.id}: cache did not return the notebook just stored")
    _stored(params, plan.fingerprint, mark=True)
    pack_log.info("section %s executed in %.1f s", plan.section.id, result.duration_s)
    return _record(plan, "executed", False, result.duration_s, merged), merged


def _record(
    plan: _Planned, status: str, hit: bool, duration: float, nb, content_hash: str = "", **failure
) -> SectionRecord:
    return SectionRecord(
        id=plan.section.id,
        title=plan.section.title,
        status=status,
        cache_hit=hit,
        duration_s=round(duration, 3),
        fingerprint=plan.fingerprint,
        content_hash=hashing.content_hash(nb) if nb is not None else content_hash,
        **failure,
    )


def _write_manifest(pack: PackBuild) -> None:
    inputs = {}
    for plan in pack.plans:
        inputs.update(plan.inputs)
    params = pack.params
    pack_manifest.write_manifest(
        pack.staging,
        {
            "pack": {"icb": params.icb, "quarter": params.quarter, "quarter_id": params.quarter_id},
            "built_at": pack.built_at.isoformat(),
            "parameters": params.log_dict(),
            "inputs": dict(sorted(inputs.items())),
            "source": pack.data.source or {"source_dir": str(pack.source_data_dir)},
            "data_warnings": pack.data_warnings,
            "sections": [asdict(r) for r in pack._records()],
            "pack_key": pack.pack_key,
            **_record_entries(pack),
        },
    )


def _record_entries(pack: PackBuild) -> dict:
    """manifest.json's record of the pack's headline figures (``kpis``), the previous pack it was
    compared with, the earlier figures restated since (``revisions``) and the changes since
    (``changes``: RAG, signals, deliverables); both None without a previous pack."""
    from helpers import changes, pack_record, revisions

    previous = pack.previous
    found = revisions.revisions(previous.record if previous else None, pack.record) if pack.record else None
    changed = changes.changes_between(previous.record if previous else None, pack.record) if pack.record else None
    return {
        pack_record.RECORD_KEY: pack.record,
        "previous_pack": {
            "folder": str(previous.folder),
            "version": str(previous.folder.resolve()),
            "quarter": previous.quarter.label,
        }
        if previous
        else None,
        pack_record.REVISIONS_KEY: revisions.for_manifest(found),
        "changes": changes.for_manifest(changed),
    }


def _pack_key(params: ResolvedParams, plans, pdf: bool, previous=None) -> str:
    """Everything the published files depend on besides the build date."""
    package_dir = Path(__file__).resolve().parent
    code = {
        str(p.relative_to(package_dir)): hashing.sha256_file(p)
        for p in sorted(package_dir.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    material = {
        "sections": [(p.section.id, p.section.title, p.fingerprint) for p in plans],
        "pdf": pdf,
        "out": str(params.out_dir),
        "code": code,
        # the revisions in the manifest compare with the previous pack's record
        "previous": hashing.sha256_file(previous.manifest) if previous else "",
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _current_manifest(location: publishing.PackLocation) -> dict:
    try:
        return json.loads((location.link / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- logging -----------------------------------------------------------------------------------
def _start_log(params: ResolvedParams, built_at: dt.datetime) -> tuple[Path, logging.Logger]:
    """A log file for one pack, on a logger of its own (packs of a batch run side by side)."""
    pack_log = logging.getLogger(f"boardpack.build.{params.icb}.{params.quarter_id}")
    folder = params.cache_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"build-{params.icb}-{params.quarter_id}-{built_at:%Y%m%dT%H%M%S}-{os.getpid()}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.set_name(str(path))
    pack_log.addHandler(handler)
    pack_log.setLevel(logging.INFO)
    pack_log.info("resolved parameters: %s", json.dumps(params.log_dict(), sort_keys=True))
    return path, pack_log


def _stop_log(pack_log: logging.Logger, path: Path) -> None:
    for handler in list(pack_log.handlers):
        if handler.get_name() == str(path):
            handler.close()
            pack_log.removeHandler(handler)
