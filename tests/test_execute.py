"""execute_section on both engines (a forked in-process child; a real kernel): success, a raising
cell, sys.exit(0), a dead process, a timeout; and the fork engine's isolation between sections."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from boardpack.execute import SectionTask, execute_section

FIXTURES = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.integration


@pytest.fixture(params=["fork", "kernel"])
def engine(request) -> str:
    return request.param


def _task(tmp_path: Path, name: str, cell_timeout: int = 60, engine: str = "fork") -> SectionTask:
    return SectionTask(
        section_id=name,
        prepared_notebook=str(FIXTURES / f"{name}.ipynb"),
        output_notebook=str(tmp_path / "work" / f"{name}.ipynb"),
        failed_dir=str(tmp_path / "failed"),
        cwd=str(FIXTURES),
        cell_timeout=cell_timeout,
        deadline=time.time() + 120,
        engine=engine,
    )


def test_success_runs_every_cell_in_a_process_pool(tmp_path, engine):
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(execute_section, _task(tmp_path, "ok", engine=engine)).result()
    assert result.ok, result.error
    assert result.attempts == 1 and result.kept_notebook == ""
    nb = nbformat.read(result.output_notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "value is 1" in printed
    assert not (tmp_path / "failed").exists()


def test_raising_cell_fails_naming_cell_and_error_and_keeps_notebook(tmp_path, engine):
    result = execute_section(_task(tmp_path, "raises", engine=engine))
    assert not result.ok
    assert "ValueError" in result.error and "section made to fail" in result.error
    assert "raise ValueError" in result.failed_cell_source
    assert result.attempts == 1  # a failing cell is not retried
    assert Path(result.kept_notebook).is_file() and Path(result.kept_notebook).parent == tmp_path / "failed"


def test_sys_exit_zero_is_a_failure(tmp_path, engine):
    result = execute_section(_task(tmp_path, "sys_exit", engine=engine))
    assert not result.ok
    assert "sys.exit" in result.failed_cell_source or "SystemExit" in result.error
    assert result.failed_cell_index == 1


def test_dead_kernel_is_a_failure_naming_the_cell(tmp_path, engine):
    result = execute_section(_task(tmp_path, "dies", engine=engine))
    assert not result.ok
    assert "os._exit" in result.failed_cell_source
    assert "kernel" in result.error.lower()


def test_cell_past_timeout_fails(tmp_path, engine):
    started = time.monotonic()
    result = execute_section(_task(tmp_path, "hangs", cell_timeout=3, engine=engine))
    assert not result.ok
    assert "timed out" in result.error
    assert "time.sleep" in result.failed_cell_source
    assert time.monotonic() - started < 60


def test_kernel_that_cannot_start_is_retried_then_reported(tmp_path):
    task = SectionTask(
        section_id="ok",
        prepared_notebook=str(FIXTURES / "ok.ipynb"),
        output_notebook=str(tmp_path / "work" / "ok.ipynb"),
        failed_dir=str(tmp_path / "failed"),
        cwd=str(FIXTURES),
        cell_timeout=30,
        deadline=time.time() + 60,
        kernel_name="no-such-kernel",
        engine="kernel",
    )
    result = execute_section(task)
    assert not result.ok
    assert result.attempts == 3  # start failures are retried; cell failures (above) are not
    assert "no-such-kernel" in result.error


def test_kernels_run_single_threaded_over_unix_sockets(tmp_path):
    """OMP_NUM_THREADS=1 in the kernel (sections already run in parallel) and IPC transport (no TCP
    ports to collide on when many kernels start at once, papermill #511)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\nfrom ipykernel.kernelapp import IPKernelApp\n"
            "print('OMP', os.environ.get('OMP_NUM_THREADS'), 'transport', IPKernelApp.instance().transport)"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    prepared = tmp_path / "probe.ipynb"
    nbformat.write(nb, prepared)
    task = SectionTask(
        section_id="probe",
        prepared_notebook=str(prepared),
        output_notebook=str(tmp_path / "out.ipynb"),
        failed_dir=str(tmp_path / "failed"),
        cwd=str(tmp_path),
        cell_timeout=60,
        deadline=time.time() + 120,
        engine="kernel",
    )
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(execute_section, task).result()
    assert result.ok, result.error
    printed = "".join(o.get("text", "") for o in nbformat.read(result.output_notebook, as_version=4).cells[0].outputs)
    assert "OMP 1 transport ipc" in printed
    assert not list(tmp_path.glob("kernel-ipc*"))  # sockets live in the temp folder, not the notebook's


def _notebook(tmp_path: Path, name: str, *sources: str) -> SectionTask:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    tmp_path.mkdir(parents=True, exist_ok=True)
    prepared = tmp_path / f"{name}.prepared.ipynb"
    nbformat.write(nb, prepared)
    return SectionTask(
        section_id=name,
        prepared_notebook=str(prepared),
        output_notebook=str(tmp_path / "work" / f"{name}.ipynb"),
        failed_dir=str(tmp_path / "failed"),
        cwd=str(tmp_path),
        cell_timeout=60,
        deadline=time.time() + 120,
        engine="fork",
    )


def test_fork_engine_sections_share_no_state(tmp_path):
    """Two sections run one after the other in the same warm worker: names, imports, rcParams and
    open pyplot figures of the first are not seen by the second."""
    first = _notebook(
        tmp_path,
        "first",
        "import matplotlib\nimport matplotlib.pyplot as plt\nleaked_name = 1\nimport json as leaked_module\n"
        "matplotlib.rcParams['lines.linewidth'] = 7.5\nplt.figure()\nprint('figures', len(plt.get_fignums()))",
    )
    second = _notebook(
        tmp_path,
        "second",
        "import matplotlib\nimport matplotlib.pyplot as plt\n"
        "print('names', 'leaked_name' in globals(), 'leaked_module' in globals())\n"
        "print('linewidth', matplotlib.rcParams['lines.linewidth'], 'figures', len(plt.get_fignums()))",
    )
    with ProcessPoolExecutor(max_workers=1) as pool:  # one worker: both sections fork from it
        results = [pool.submit(execute_section, task).result() for task in (first, second)]
    assert all(r.ok for r in results), [r.error for r in results]
    printed = [
        "".join(o.get("text", "") for o in nbformat.read(r.output_notebook, as_version=4).cells[0].outputs)
        for r in results
    ]
    assert "figures 1" in printed[0]
    assert "names False False" in printed[1]
    assert "linewidth 1.5 figures 0" in printed[1]


def test_fork_engine_outputs_are_what_a_kernel_gives(tmp_path):
    """display(), an execute_result, stdout and stderr as notebook outputs, as from a kernel."""
    sources = (
        "from IPython.display import display, HTML\nimport sys\nprint('out')\nprint('err', file=sys.stderr)\n"
        "display(HTML('<b>shown</b>'))\n1 + 1",
        "x = 3",
        "x * 2",
    )
    outputs = {}
    for engine in ("fork", "kernel"):
        task = _notebook(tmp_path / engine, "probe", *sources)
        task = SectionTask(**{**task.__dict__, "engine": engine})
        result = execute_section(task)
        assert result.ok, result.error
        nb = nbformat.read(result.output_notebook, as_version=4)
        outputs[engine] = [
            (
                c.execution_count,
                [{k: o[k] for k in ("output_type", "name", "text", "data") if k in o} for o in c.outputs],
            )
            for c in nb.cells
        ]
    assert outputs["fork"] == outputs["kernel"]
    assert outputs["fork"][2] == (3, [{"output_type": "execute_result", "data": {"text/plain": "6"}}])


def test_fork_engine_section_dies_with_its_worker(tmp_path):
    """A worker stopped mid-section (as at the pack's run limit) takes its section's process with it."""
    pid_file = tmp_path / "section.pid"
    task = _notebook(
        tmp_path, "lingers", f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)"
    )
    pool = ProcessPoolExecutor(max_workers=1)
    section_pid = None
    try:
        pool.submit(execute_section, task)
        for _ in range(600):
            if pid_file.is_file() and pid_file.read_text():
                break
            time.sleep(0.1)
        section_pid = int(pid_file.read_text())
        for worker in list(pool._processes.values()):
            worker.kill()
        for _ in range(100):
            try:
                os.kill(section_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the section's process {section_pid} outlived its worker")
    finally:
        if section_pid is not None:  # on failure: no orphan left holding the pool's pipes
            with contextlib.suppress(ProcessLookupError):
                os.kill(section_pid, signal.SIGKILL)
        pool.shutdown(wait=False, cancel_futures=True)
