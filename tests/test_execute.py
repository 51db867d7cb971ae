"""execute_section with real kernels: success, a raising cell, sys.exit(0), a dead kernel, a timeout."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from boardpack.execute import SectionTask, execute_section

FIXTURES = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.integration


def _task(tmp_path: Path, name: str, cell_timeout: int = 60) -> SectionTask:
    return SectionTask(
        section_id=name,
        prepared_notebook=str(FIXTURES / f"{name}.ipynb"),
        output_notebook=str(tmp_path / "work" / f"{name}.ipynb"),
        failed_dir=str(tmp_path / "failed"),
        cwd=str(FIXTURES),
        cell_timeout=cell_timeout,
        deadline=time.time() + 120,
    )


def test_success_runs_every_cell_in_a_process_pool(tmp_path):
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(execute_section, _task(tmp_path, "ok")).result()
    assert result.ok, result.error
    assert result.attempts == 1 and result.kept_notebook == ""
    nb = nbformat.read(result.output_notebook, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "value is 1" in printed
    assert not (tmp_path / "failed").exists()


def test_raising_cell_fails_naming_cell_and_error_and_keeps_notebook(tmp_path):
    result = execute_section(_task(tmp_path, "raises"))
    assert not result.ok
    assert "ValueError" in result.error and "section made to fail" in result.error
    assert "raise ValueError" in result.failed_cell_source
    assert result.attempts == 1  # a failing cell is not retried
    assert Path(result.kept_notebook).is_file() and Path(result.kept_notebook).parent == tmp_path / "failed"


def test_sys_exit_zero_is_a_failure(tmp_path):
    result = execute_section(_task(tmp_path, "sys_exit"))
    assert not result.ok
    assert "sys.exit" in result.failed_cell_source or "SystemExit" in result.error
    assert result.failed_cell_index == 1


def test_dead_kernel_is_a_failure_naming_the_cell(tmp_path):
    result = execute_section(_task(tmp_path, "dies"))
    assert not result.ok
    assert "os._exit" in result.failed_cell_source
    assert "kernel" in result.error.lower()


def test_cell_past_timeout_fails(tmp_path):
    started = time.monotonic()
    result = execute_section(_task(tmp_path, "hangs", cell_timeout=3))
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
    )
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(execute_section, task).result()
    assert result.ok, result.error
    printed = "".join(o.get("text", "") for o in nbformat.read(result.output_notebook, as_version=4).cells[0].outputs)
    assert "OMP 1 transport ipc" in printed
    assert not list(tmp_path.glob("kernel-ipc*"))  # sockets live in the temp folder, not the notebook's
