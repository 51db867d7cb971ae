"""The driver's scheduler: many pack builds over one executor.

:func:`run_builds` drives any number of :class:`boardpack.build.PackBuild` objects to the end:
one task per stale section, one assemble task per pack once its sections are done, at most
``slots`` in flight, packs started only as capacity frees, each pack's run limit enforced. The
local executor is a process pool whose workers fork from a forkserver that preloads the warm set.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from boardpack.execute import AssembleResult, SectionResult, assemble_pack, execute_section

if TYPE_CHECKING:
    from boardpack.build import BuildResult, PackBuild


@dataclass
class RunSummary:
    """Every pack's result, in the order given, and what was submitted to the executor."""

    results: list[BuildResult]
    submitted_sections: int = 0
    submitted_assembles: int = 0


def run_builds(
    builds: list[PackBuild],
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    slots: int | None = None,
    on_finished: Callable[[PackBuild], None] | None = None,
) -> RunSummary:
    """Drive ``builds`` to the end over ``executor`` (default: a process pool of ``jobs`` workers).

    One task per stale section, and one assemble task per pack once its sections are done. At most
    ``slots`` tasks are in flight (default: twice the pool's workers; for an executor given without
    ``slots``, no limit), assemble tasks first, so packs publish as they finish, not all at the end.
    """
    summary = RunSummary(results=[])
    done_packs: set[int] = set()

    def finished(pack: PackBuild) -> None:
        if id(pack) not in done_packs:
            done_packs.add(id(pack))
            if on_finished:
                on_finished(pack)

    to_start = list(builds)
    if executor is None:
        for pack in builds:
            pack.on_stale = warm_local_workers
    waiting: list[tuple[PackBuild, str]] = []  # stale sections not yet submitted
    ready: list[PackBuild] = []  # packs whose sections are all done: assemble next

    def start_next() -> None:
        """Start one more pack (lock, validate, plan): packs start as capacity frees, not all at once."""
        pack = to_start.pop(0)
        pack.start()
        if pack.done:
            finished(pack)
        elif pack.tasks:
            waiting.extend((pack, sid) for sid in pack.tasks)
        else:
            ready.append(pack)  # every section was cached

    if executor is None:  # our own pool, sized by the first pack's stale sections
        while to_start and not (waiting or ready):
            start_next()
    own_pool = executor is None and bool(waiting or ready)
    if own_pool:
        workers = jobs or os.cpu_count() or 1
        if len(builds) == 1:  # one pack: no more workers than its stale sections
            workers = min(workers, max(1, len(waiting)))
        executor = local_pool(workers)
        slots = slots or 2 * workers
    limit = slots or 1 << 30
    futures: dict[Future, tuple[PackBuild, str]] = {}  # (pack, section id), "" for the assemble task

    def fill() -> None:
        while len(futures) < limit and (ready or waiting or to_start):
            if not (ready or waiting):
                start_next()
                continue
            if ready:
                pack = ready.pop(0)
                task = pack.assemble_task()
                if task is None:
                    finished(pack)
                    continue
                futures[executor.submit(assemble_pack, task)] = (pack, "")
                summary.submitted_assembles += 1
            else:
                pack, sid = waiting.pop(0)
                pack.notify(sid, "running", "")
                futures[executor.submit(execute_section, pack.tasks[sid])] = (pack, sid)
                summary.submitted_sections += 1

    try:
        fill()
        while futures:
            deadline = min(p.deadline for p, _ in futures.values())
            done, _ = wait(list(futures), timeout=max(0.0, deadline - time.time()) + 5, return_when=FIRST_COMPLETED)
            if not done:
                _expire(futures, waiting, executor if own_pool else None, finished)
            for future in done:
                pack, sid = futures.pop(future)
                if sid:
                    try:
                        result: SectionResult = future.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker is a failed section
                        pack.section_lost(sid, f"worker failed: {exc!r}")
                    else:
                        pack.section_finished(sid, result)
                    if pack.sections_done and not pack.done:
                        ready.append(pack)
                else:
                    try:
                        assembled: AssembleResult = future.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker
                        assembled = AssembleResult(False, 0.0, f"the assemble task failed: {exc!r}")
                    pack.assembled(assembled)
                    finished(pack)
            fill()
    except BaseException as exc:  # interrupted: end every open build cleanly; nothing half-done is published
        for pack in builds:
            if not pack.done:
                pack.abandon(f"the run was interrupted ({type(exc).__name__})")
        raise
    finally:
        if own_pool:
            executor.shutdown(wait=True, cancel_futures=True)
    summary.results = [pack.result for pack in builds]
    return summary


def _expire(futures: dict, waiting: list, own_pool: ProcessPoolExecutor | None, finished) -> None:
    """Fail the unfinished sections of builds whose run limit (run_timeout from their start) has passed."""
    now = time.time()
    expired = {id(p): p for p, _ in futures.values() if p.deadline <= now}
    for future, (pack, sid) in list(futures.items()):
        if id(pack) in expired:
            future.cancel()
            del futures[future]
            if sid:
                pack.section_lost(sid, f"still running when the pack's run limit ({pack.params.run_timeout} s) passed")
            else:
                pack.abandon(f"still rendering when the pack's run limit ({pack.params.run_timeout} s) passed")
    for item in [w for w in waiting if id(w[0]) in expired]:
        waiting.remove(item)
        item[0].section_lost(item[1], "not started before the pack's run limit passed")
    for pack in expired.values():
        pack.end_if_a_section_failed()
        finished(pack)
    if own_pool is not None and expired:
        _stop_pool(own_pool)


WARM_MODULES = ["boardpack.execute", "boardpack.inprocess", "boardpack.render"]


def warm_local_workers() -> None:
    """Start the forkserver now, so it imports the warm set while the driver validates: the
    workers forked from it later start warm. Returns at once; a no-op once it runs."""
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(WARM_MODULES)
    forkserver.ensure_running()


def local_pool(workers: int) -> ProcessPoolExecutor:
    """The local executor: ``workers`` processes from a forkserver (workers fork from a clean server,
    not from a driver with threads, and preload the worker module instead of the caller's __main__).
    The server preloads the fork engine's warm set (pandas, matplotlib, the helpers) once, while the
    driver validates, so every worker starts warm."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WARM_MODULES)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    # Only the pool this build created: its worker processes (kernels watch their parent and exit).
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
