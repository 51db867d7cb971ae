"""What runs on a worker: one section notebook in a fresh kernel, or the assembly of one pack.

:func:`execute_section` and :func:`assemble_pack` are top-level functions of plain, frozen
arguments (absolute paths, limits) returning small records, so any ``concurrent.futures.Executor``
runs them: a local process pool, or Dask's ``client.get_executor()`` on a laptop or a cluster
(workers need the project's environment and a filesystem shared with the driver). They never touch
the cache, the manifest or the published folder; the driver does that with the records.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a section runs (the driver imports this module for its task types)
    import nbformat

KERNEL_NAME = "python3"
START_ATTEMPTS = 3
START_BACKOFF_S = 0.5
SOURCE_EXCERPT_CHARS = 300


@dataclass(frozen=True)
class SectionTask:
    """What one worker needs: absolute paths and limits only."""

    section_id: str
    prepared_notebook: str  # parameterised notebook (input to papermill)
    output_notebook: str  # executed notebook, in the build's working folder
    failed_dir: str  # where a failed section's executed notebook is kept
    cwd: str  # the notebook's own folder, as when it runs standalone
    cell_timeout: int  # seconds per cell
    deadline: float  # wall-clock time (epoch s) after which no cell may still be running
    kernel_name: str = KERNEL_NAME
    engine: str = "fork"  # fork: a child of this warm worker (boardpack.inprocess); kernel: a Jupyter kernel
    # When set, the worker writes prepared_notebook: source_notebook with ``parameters`` injected.
    source_notebook: str = ""
    parameters: dict | None = None


@dataclass(frozen=True)
class SectionResult:
    """What a worker returns: status, timings and, on failure, where and why."""

    section_id: str
    ok: bool
    output_notebook: str
    duration_s: float
    attempts: int
    error: str = ""
    failed_cell_index: int | None = None
    failed_cell_source: str = ""
    kept_notebook: str = ""
    prepared_notebook: str = ""  # the notebook as parameterised (what the cache keys on)


def _ipc_kernel_manager_class():
    """A kernel manager whose kernels talk over Unix sockets in the temp folder, not TCP ports:
    parallel kernels cannot collide on ports (papermill #511), and nothing listens on the network."""
    import tempfile
    import uuid

    from jupyter_client import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class IpcKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if self.transport == "ipc":  # sockets are <ip>-<n>: an absolute, unique prefix
                self.ip = str(Path(tempfile.gettempdir()) / f"boardpack-kernel-{uuid.uuid4().hex[:16]}")

    return IpcKernelManager


class KernelStartError(RuntimeError):
    """The kernel did not start (e.g. a port collision, papermill issue #511)."""


ENGINES = ("fork", "kernel")
FORK_GRACE_S = 10  # after the pack's run limit, a section's process gets this long before it is killed


def execute_section(task: SectionTask) -> SectionResult:
    """Execute ``task.prepared_notebook`` with papermill, in a forked child of this worker or in a
    kernel (retried only when the kernel fails to start)."""
    # One thread per section: sections already run in parallel.
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    Path(task.output_notebook).parent.mkdir(parents=True, exist_ok=True)
    if task.source_notebook:
        import nbformat

        from boardpack.cache import prepare_notebook

        nbformat.write(prepare_notebook(Path(task.source_notebook), task.parameters or {}), task.prepared_notebook)
    if task.engine == "fork":
        return _execute_forked(task)
    if task.engine != "kernel":
        raise ValueError(f"unknown engine {task.engine!r}: one of {', '.join(ENGINES)}")
    import papermill

    started = time.monotonic()
    attempts = 0
    error: BaseException | None = None
    while attempts < START_ATTEMPTS:
        attempts += 1
        timeout = max(1, min(task.cell_timeout, int(task.deadline - time.time())))
        try:
            papermill.execute_notebook(
                task.prepared_notebook,
                task.output_notebook,
                kernel_name=task.kernel_name,
                execution_timeout=timeout,
                progress_bar=False,
                cwd=task.cwd,
                start_timeout=60,
                kernel_manager_class=_ipc_kernel_manager_class(),
            )
            error = None
            break
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a record
            error = exc
            if not _kernel_never_started(exc, task.output_notebook) or attempts >= START_ATTEMPTS:
                break
            time.sleep(START_BACKOFF_S * attempts)
    duration = time.monotonic() - started
    return _result(task, error, attempts, duration)


class SectionProcessError(RuntimeError):
    """What the forked section process reported, or how it ended (the message is the whole story)."""


def _execute_forked(task: SectionTask) -> SectionResult:
    """Fork a child of this (warm) process that runs the section in-process, and wait for it.

    The child reports its exception, if any, through a pipe and leaves with ``os._exit`` (no
    inherited clean-up runs twice). A child that ends without a report died in a cell (e.g.
    ``os._exit``); one still running when the pack's run limit has passed is killed.
    """
    import papermill

    from boardpack import inprocess  # the warm set: already imported in a preloaded worker

    started = time.monotonic()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the section's process
        os.close(read_end)
        report = ""
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _die_with_parent()
            papermill.execute_notebook(
                task.prepared_notebook,
                task.output_notebook,
                engine_name=inprocess.ENGINE_NAME,
                kernel_name=task.kernel_name,
                execution_timeout=max(1, min(task.cell_timeout, int(task.deadline - time.time()))),
                progress_bar=False,
                cwd=task.cwd,
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which makes the record
            report = f"{type(exc).__name__}: {exc}" or type(exc).__name__
        finally:
            os.write(write_end, (report or "ok").encode("utf-8", "replace")[: 1 << 15])
            os._exit(0)
    os.close(write_end)
    report = _read_report(read_end, pid, task.deadline + FORK_GRACE_S)
    _, status = os.waitpid(pid, 0)
    error: BaseException | None = None
    if report is None:
        error = SectionProcessError("timed out: the pack's run limit passed while a cell ran")
    elif report == "":
        error = SectionProcessError(f"the section's process ended ({_how(status)}) while a cell ran")
    elif report != "ok":
        error = SectionProcessError(report)
    return _result(task, error, 1, time.monotonic() - started)


def _die_with_parent() -> None:
    """Linux: this process is killed when the worker that forked it dies (e.g. stopped at the pack's
    run limit), as a kernel exits when its parent does; elsewhere a no-op."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _read_report(fd: int, pid: int, deadline: float) -> str | None:
    """The child's report ('' when it ended without one); None when killed at ``deadline``."""
    chunks = []
    with os.fdopen(fd, "rb") as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.time()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return None
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                return b"".join(chunks).decode("utf-8", "replace")
            chunks.append(chunk)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _kernel_never_started(exc: BaseException, output_notebook: str) -> bool:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, (PapermillExecutionError, KeyboardInterrupt)):
        return False
    nb = _read(output_notebook)
    if nb is None:
        return True
    # On any exception papermill marks every cell "completed", so look for a cell that really started.
    return not any(
        c.get("metadata", {}).get("papermill", {}).get("start_time") or c.get("execution_count") is not None
        for c in nb.cells
        if c.cell_type == "code"
    )


def _read(path: str) -> nbformat.NotebookNode | None:
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - missing or half-written: treated as no notebook
        return None


def _excerpt(source: str) -> str:
    return source if len(source) <= SOURCE_EXCERPT_CHARS else source[:SOURCE_EXCERPT_CHARS] + " ..."


def find_failure(nb: nbformat.NotebookNode) -> tuple[int, str, str] | None:
    """(cell index, source, reason) of the first code cell that failed or never ran, else None.

    Papermill counts ``sys.exit(0)`` as success and skips the rest; a dead kernel leaves a cell
    'running'. Every code cell must have completed, with no error output.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            err = errors[0]
            return index, cell.source, f"{err.get('ename')}: {err.get('evalue')}"
        if status == "running":
            return index, cell.source, "the kernel died or was stopped while this cell ran"
        if status != "completed" or cell.get("execution_count") is None:
            return index, cell.source, "this cell never ran: an earlier cell ended the run (e.g. sys.exit)"
    return None


def _result(task: SectionTask, error: BaseException | None, attempts: int, duration: float) -> SectionResult:
    nb = _read(task.output_notebook)
    failure = find_failure(nb) if nb is not None else None
    if error is not None and nb is not None and not _has_error_output(nb):
        # The kernel died or was stopped: the culprit is the last cell that started, whatever
        # status papermill's clean-up gave it.
        failure = _last_started(nb) or failure
    if error is None and failure is None:
        return SectionResult(
            task.section_id, True, task.output_notebook, duration, attempts, prepared_notebook=task.prepared_notebook
        )

    index, source, reason = failure if failure else (None, "", "")
    message = _describe(error) if error is not None else reason
    if error is not None and reason and reason not in message:
        message = f"{reason} ({message.splitlines()[0][:300]})"
    if error is not None and _is_timeout(error):
        message = f"timed out after {task.cell_timeout} s in one cell, or the pack's run limit passed ({message.splitlines()[0][:300]})"
    if error is not None and nb is None and task.engine == "kernel":
        message = f"the kernel did not start after {attempts} attempt(s): {message}"

    kept = ""
    if Path(task.output_notebook).exists():
        Path(task.failed_dir).mkdir(parents=True, exist_ok=True)
        kept = str(Path(task.failed_dir) / f"{task.section_id}.ipynb")
        shutil.copyfile(task.output_notebook, kept)
    return SectionResult(
        task.section_id,
        False,
        task.output_notebook,
        duration,
        attempts,
        error=message,
        failed_cell_index=index,
        failed_cell_source=_excerpt(source),
        kept_notebook=kept,
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, SectionProcessError):
        return str(error)
    return f"{type(error).__name__}: {error}".strip()


def _has_error_output(nb: nbformat.NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _last_started(nb: nbformat.NotebookNode) -> tuple[int, str, str] | None:
    started = [
        (i, c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return None
    index, cell = started[-1]
    return index, cell.source, "the kernel died or was stopped while this cell ran"


def _is_timeout(error: BaseException) -> bool:
    text = f"{type(error).__name__} {error}"
    return "CellTimeoutError" in text or "timed out" in text.lower() or "Timeout" in type(error).__name__


@dataclass(frozen=True)
class AssembleTask:
    """What the assemble step needs: the cover, each section's final notebook, where to write."""

    icb: str
    icb_name: str
    quarter: str  # label, e.g. '2026/27 Q2'
    built_date: str  # ISO date shown on the cover
    sample_data: bool
    sections: tuple[tuple[str, str, str], ...]  # (section id, title, notebook path) in plan order
    staging: str  # empty folder the pack is rendered into (the driver publishes it)
    pdf: bool = True
    stores: tuple[str, ...] = ()  # each section's store (helpers.store), in plan order: the appendix's tables
    data_line: str = ""  # the cover's "data to 30 Sep 2026, extracted 14 Oct 2026" (helpers.freshness)


@dataclass(frozen=True)
class AssembleResult:
    ok: bool
    duration_s: float
    error: str = ""


def assemble_pack(task: AssembleTask) -> AssembleResult:
    """Render the HTML, the PDF and the appendix into ``task.staging``; never raises. The appendix
    holds the sections' detail tables as the KPI stage computed them (:func:`helpers.store.read_appendix`),
    nothing read back out of the notebooks."""
    import nbformat

    from boardpack import render

    started = time.monotonic()
    staging = Path(task.staging)
    try:
        parts = [
            render.SectionNotebook(sid, title, nbformat.read(path, as_version=4)) for sid, title, path in task.sections
        ]
        for part in parts:
            render.check_alt_text(part)
        cover = render.Cover(task.icb, task.icb_name, task.quarter, task.built_date, task.sample_data, task.data_line)
        document = render.write_html(render.merge(cover, parts), staging / "board_pack.html")
        if task.pdf:
            render.write_pdf(document, staging / "board_pack.pdf")
        render.write_appendix(render.store_tables(zip((p.id for p in parts), task.stores)), staging / "appendix")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a record
        return AssembleResult(False, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    return AssembleResult(True, time.monotonic() - started)
