"""``boardpack batch``: many (ICB, quarter) packs over one executor, on a laptop or a Dask cluster.

Every pack is a :class:`boardpack.build.PackBuild`, exactly as ``boardpack build`` makes it (same
validation, cache, atomic publish, manifest); :func:`boardpack.scheduler.run_builds` drives them all
over one ``concurrent.futures`` executor: one task per stale section, one assemble task per pack.
The executor is a local process pool (``local:N``), a Dask LocalCluster (``dask-local:N``) or an
existing Dask scheduler (``dask:ADDRESS``), through ``client.get_executor()``: Dask schedules,
this module only says what to run. The driver alone writes the cache, the extracts, manifests and
the batch index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from boardpack import extracts, params as build_params
from boardpack.build import BuildResult, PackBuild, kpi_params
from boardpack.scheduler import RunSummary, local_pool, run_builds
from helpers import paths
from helpers.quarters import Quarter, parse, parse_range

EXECUTOR_KINDS = ("local", "dask-local", "dask")
DASK_RETRIES = 2  # a task whose worker died is run again elsewhere (kernel start failures retry inside the task)


class BatchError(ValueError):
    """Arguments of a batch that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ExecutorSpec:
    kind: str  # local | dask-local | dask
    workers: int = 0  # local / dask-local
    address: str = ""  # dask

    def __str__(self) -> str:
        return f"{self.kind}:{self.address or self.workers}"


def parse_executor(text: str | None) -> ExecutorSpec:
    """``local:N``, ``dask-local:N`` or ``dask:ADDRESS`` (default ``local:<cores>``)."""
    if not text:
        return ExecutorSpec("local", os.cpu_count() or 1)
    kind, _, rest = text.partition(":")
    if kind not in EXECUTOR_KINDS or not rest:
        raise BatchError(
            f"--executor {text!r}: use local:N, dask-local:N or dask:ADDRESS (e.g. dask:tcp://10.0.0.5:8786)"
        )
    if kind == "dask":
        return ExecutorSpec(kind, address=rest)
    if not rest.isdigit() or int(rest) < 1:
        raise BatchError(f"--executor {text!r}: N must be a whole number of workers, 1 or more")
    return ExecutorSpec(kind, workers=int(rest))


def parse_icbs(text: str) -> list[str]:
    """``ALL`` or comma-separated ICB ODS codes (checked against the ONS table)."""
    from helpers.population import icb_codes

    known = icb_codes()
    if text.strip().upper() == "ALL":
        return known
    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    unknown = [c for c in codes if c not in known]
    if not codes or unknown:
        raise BatchError(
            f"--icb {text!r}: unknown ICB code(s) {', '.join(unknown) or '(none given)'}; "
            "use ODS codes such as QWU,QYG or ALL"
        )
    return list(dict.fromkeys(codes))


def parse_quarters(text: str) -> list[Quarter]:
    """One quarter or an inclusive range ``2025-26-Q1..2026-27-Q2``."""
    try:
        return list(parse_range(text)) if ".." in text else [parse(text)]
    except ValueError as exc:
        raise BatchError(f"--quarters {text!r}: {exc}") from None


@contextlib.contextmanager
def open_executor(spec: ExecutorSpec) -> Iterator[tuple[Executor, int, str]]:
    """(executor, tasks to keep in flight, description); closes what it opened."""
    if spec.kind == "local":
        with local_pool(spec.workers) as pool:
            yield pool, 2 * spec.workers, f"local process pool, {spec.workers} workers"
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if spec.kind == "dask-local":
            # One kernel per worker process: one thread each; no dashboard (no port to clash).
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=spec.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
            )
            client = stack.enter_context(Client(cluster))
            what = f"Dask LocalCluster, {spec.workers} workers"
        else:
            client = stack.enter_context(Client(spec.address, timeout="30s"))
            what = f"Dask scheduler {spec.address}"
        threads = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False, retries=DASK_RETRIES), 2 * threads, f"{what} ({threads} threads)"


def data_folder(data: Path | None, quarter: Quarter, root: Path) -> tuple[Path, bool]:
    """(the quarter's data folder, is it the generated sample).

    ``data`` None: the national sample ``data/sample/national/<quarter id>``, generated when absent.
    A folder holding ``<quarter id>/`` subfolders gives each quarter its own; otherwise ``data``
    itself serves every quarter.
    """
    if data is None:
        folder = root / "data" / "sample" / "national" / quarter.id
        if not folder.is_dir():
            from sampledata import generate

            code = generate.run(out=folder, to=quarter.label, scale="national")
            if code != 0:
                raise BatchError(f"could not generate the national sample data for {quarter} in {folder}")
        return folder, True
    data = Path(data).expanduser().resolve()
    if (data / quarter.id).is_dir():
        return data / quarter.id, False
    if not data.is_dir():
        raise BatchError(f"--data {data}: no such folder")
    return data, False


@dataclass
class PackOutcome:
    """One pack of a batch, for the index."""

    icb: str
    icb_name: str
    quarter: str
    quarter_id: str
    exit_code: int
    status: str  # "up to date" or STATUS[exit_code]
    message: str
    finished_after_s: float  # since the batch started
    section_s: float  # time in section kernels
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    html: str = ""
    data_warnings: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    packs: list[PackOutcome]
    submitted_sections: int
    submitted_assembles: int
    duration_s: float
    executor: str
    index: Path | None = None

    @property
    def failed(self) -> list[PackOutcome]:
        return [p for p in self.packs if p.exit_code != 0]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


STATUS = {0: "published", 1: "failed (render or publish)", 2: "invalid input", 3: "failed (section)", 4: "locked"}


def run_batch(
    icbs: list[str],
    quarters: list[Quarter],
    *,
    data: Path | None = None,
    executor: ExecutorSpec = ExecutorSpec("local", 2),
    force: bool = False,
    pdf: bool = True,
    out: Path | None = None,
    values: dict | None = None,
    sections=None,
    root: Path | None = None,
    on_pack: Callable[[PackOutcome], None] | None = None,
) -> BatchResult:
    """Build every (ICB, quarter) pack and write the batch index; never raises for a failed pack."""
    from helpers.population import icb_name
    from helpers.problems import DataError

    root = Path(root or paths.PROJ_ROOT)
    started_wall = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.monotonic()
    builds: list[PackBuild] = []
    early: list[PackOutcome] = []
    for quarter in quarters:
        folder, sample = data_folder(data, quarter, root)
        for icb in icbs:
            resolved = build_params.resolve(
                {
                    **(values or {}),
                    "quarter": quarter.label,
                    "icb": icb,
                    "data_dir": str(folder),
                    "out_dir": str(out) if out else None,
                },
                root=root,
            )
            if sample:
                resolved = resolved.model_copy(update={"sample_data": True})
            builds.append(PackBuild(resolved, sections=sections, force=force, pdf=pdf, built_at=started_wall))
        # Check (and cut) a many-ICB folder once per quarter here: a broken national file then fails
        # its quarter's packs with one message instead of being read again for every ICB.
        try:
            first = next(b for b in builds if b.params.quarter == quarter.label)
            extracts.data_for_pack(folder, icbs[0], quarter.label, root / ".cache", kpi_params(first.params))
        except DataError as exc:
            for build in [b for b in builds if b.params.quarter == quarter.label]:
                builds.remove(build)
                early.append(_outcome(build, BuildResult(2, str(exc)), started, icb_name))
        except extracts.ExtractError:
            pass  # one ICB missing from the folder: its own pack reports it

    outcomes = list(early)
    for outcome in early:
        if on_pack:
            on_pack(outcome)

    def finished(build: PackBuild) -> None:
        outcome = _outcome(build, build.result, started, icb_name)
        outcomes.append(outcome)
        if on_pack:
            on_pack(outcome)

    with open_executor(executor) as (pool, slots, described):
        summary: RunSummary = run_builds(builds, executor=pool, slots=slots, on_finished=finished)
    order = {(i, q.label): n for n, (q, i) in enumerate((q, i) for q in quarters for i in icbs)}
    outcomes.sort(key=lambda o: order.get((o.icb, o.quarter), 0))
    result = BatchResult(
        outcomes,
        summary.submitted_sections,
        summary.submitted_assembles,
        round(time.monotonic() - started, 3),
        described,
    )
    # The index goes where the packs went: --out as params resolved it (relative to the current folder).
    out_dir = builds[0].params.out_dir if builds else (Path(out).expanduser().resolve() if out else root / "reports")
    result.index = write_index(result, out_dir, started_wall)
    return result


def _outcome(build: PackBuild, result: BuildResult, started: float, icb_name) -> PackOutcome:
    params = build.params
    status = "up to date" if result.up_to_date else STATUS.get(result.exit_code, f"exit {result.exit_code}")
    return PackOutcome(
        icb=params.icb,
        icb_name=icb_name(params.icb),
        quarter=params.quarter,
        quarter_id=params.quarter_id,
        exit_code=result.exit_code,
        status=status,
        message=result.message,
        finished_after_s=round(time.monotonic() - started, 3),
        section_s=round(sum(s.duration_s for s in result.sections), 3),
        executed=[s.id for s in result.sections if s.status in ("executed", "failed")],
        cached=[s.id for s in result.sections if s.cache_hit],
        html=str(result.html) if result.exit_code == 0 and result.html else "",
        data_warnings=list(result.data_warnings),
    )


# -- the index -----------------------------------------------------------------------------------
INDEX_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;color:#212b32;margin:2rem;max-width:75rem}
h1{font-size:1.6rem}table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:bold;margin:.5rem 0}
th,td{border:1px solid #768692;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#e8edee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.failed{color:#8a1538;font-weight:bold}.ok{color:#00703c;font-weight:bold}a{color:#003087}
pre{white-space:pre-wrap;margin:0;font-size:.85rem}
"""


def write_index(result: BatchResult, out_dir: Path, started: dt.datetime) -> Path:
    """``<out>/batches/<start time>.html`` (self-contained, no script) and a ``.json`` beside it."""
    folder = out_dir / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"batch-{started:%Y%m%dT%H%M%S}-{os.getpid()}"
    path = folder / f"{stem}.html"
    esc = html.escape
    packs_per_minute = 60.0 * len(result.packs) / result.duration_s if result.duration_s else 0.0
    rows = []
    for pack in result.packs:
        link = ""
        if pack.html:
            target = os.path.relpath(Path(pack.html).parent / "board_pack.html", folder)
            link = f'<a href="{esc(target)}">{esc(pack.icb)} {esc(pack.quarter)} board pack</a>'
        cause = "" if pack.exit_code == 0 else f"<pre>{esc(pack.message)}</pre>"
        if pack.data_warnings:
            cause += f"<p>{len(pack.data_warnings)} data warning(s): {esc(pack.data_warnings[0])}</p>"
        css = "ok" if pack.exit_code == 0 else "failed"
        rows.append(
            f"<tr><td>{esc(pack.icb)}</td><td>{esc(pack.icb_name)}</td><td>{esc(pack.quarter)}</td>"
            f'<td class="{css}">{esc(pack.status)}</td><td class="num">{len(pack.executed)}</td>'
            f'<td class="num">{len(pack.cached)}</td><td class="num">{pack.section_s:.1f}</td>'
            f'<td class="num">{pack.finished_after_s:.1f}</td><td>{link}{cause}</td></tr>'
        )
    failed = len(result.failed)
    document = f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Board pack batch {esc(started.isoformat())}</title>
<style>{INDEX_CSS}</style></head><body><main>
<h1>Board pack batch</h1>
<p>Started {esc(started.isoformat())} on {esc(result.executor)}. {len(result.packs)} packs in {result.duration_s:.1f} s
({packs_per_minute:.1f} packs per minute): <span class="{"failed" if failed else "ok"}">{failed} failed</span>.
Section tasks submitted: {result.submitted_sections}; assemble tasks submitted: {result.submitted_assembles}.</p>
<table><caption>Packs of this batch</caption><thead><tr><th scope="col">ICB</th><th scope="col">ICB name</th>
<th scope="col">Quarter</th><th scope="col">Status</th><th scope="col">Sections run</th><th scope="col">Sections cached</th>
<th scope="col">Section time (s)</th><th scope="col">Finished after (s)</th><th scope="col">Pack, or why it failed</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</main></body></html>
"""
    path.write_text(document, encoding="utf-8")
    record = {
        "started": started.isoformat(),
        "executor": result.executor,
        "duration_s": result.duration_s,
        "submitted_sections": result.submitted_sections,
        "submitted_assembles": result.submitted_assembles,
        "packs": [pack.__dict__ for pack in result.packs],
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
