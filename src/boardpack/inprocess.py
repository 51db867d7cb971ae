"""A papermill engine that runs a notebook's cells in this process's IPython shell, not in a kernel.

:mod:`boardpack.execute` forks one child process per section from a warm worker (one that has
already imported pandas, matplotlib and the helpers, see :func:`warm_up`); the child runs the
section through ``papermill.execute_notebook(..., engine_name=ENGINE_NAME)`` and exits. Papermill
still parameterises, records each cell's start, end and status, saves the notebook after every cell
and raises for error outputs; this engine only replaces the kernel: each code cell runs in an
:class:`~IPython.core.interactiveshell.InteractiveShell` whose display publisher, display hook,
traceback printer, stdout and stderr write notebook outputs, serialised as a kernel's messages are
(``jupyter_client``'s JSON packer), so a section's outputs are the ones a kernel would give.

Isolation comes from the fork: each section starts from the warm parent's state, and nothing a
section defines, imports or sets (matplotlib rcParams included) outlives its child process.
"""

from __future__ import annotations

import io
import signal
import sys
from contextlib import contextmanager

# The warm set: what every section imports. Imported once by each worker (or the forkserver that
# starts the workers), before any fork, so no section pays for it.
import matplotlib

matplotlib.use("Agg")  # children render to PNG/SVG bytes only; no GUI, no inline backend
import matplotlib.pyplot  # noqa: E402,F401 - part of the warm set
import nbformat  # noqa: E402
import pandas  # noqa: E402,F401 - part of the warm set
from IPython.core.displayhook import DisplayHook  # noqa: E402
from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from jupyter_client.session import json_packer, json_unpacker  # noqa: E402
from papermill.engines import Engine, papermill_engines  # noqa: E402
from traitlets import Type  # noqa: E402
from traitlets.config import Config  # noqa: E402

import helpers.section  # noqa: E402,F401 - imports every helper a section uses

ENGINE_NAME = "boardpack-inprocess"


class CellTimeoutError(TimeoutError):
    """A cell ran longer than the execution timeout (raised inside the cell by a timer signal)."""


class _Outputs:
    """The outputs of the cell running now, as nbformat output nodes."""

    def __init__(self) -> None:
        self.items: list[nbformat.NotebookNode] = []
        self._clear_on_next = False

    def add(self, output_type: str, **content) -> None:
        if self._clear_on_next:
            self.items.clear()
            self._clear_on_next = False
        # What a kernel sends is JSON: bytes become base64, tuples lists, numpy scalars numbers.
        content = json_unpacker(json_packer(content))
        if output_type == "stream" and self.items and self.items[-1].get("name") == content["name"]:
            if self.items[-1].output_type == "stream":
                self.items[-1].text += content["text"]
                return
        self.items.append(nbformat.v4.new_output(output_type, **content))

    def clear(self, wait: bool) -> None:
        if wait:
            self._clear_on_next = True
        else:
            self.items.clear()


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr of a running cell: text becomes a stream output."""

    def __init__(self, outputs: _Outputs, name: str):
        self.outputs, self.name = outputs, name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self.outputs.add("stream", name=self.name, text=text)
        return len(text)

    @property
    def encoding(self) -> str:
        return "utf-8"


class _Publisher(DisplayPublisher):
    """``display()`` → a display_data output."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
        self.shell.outputs.add("display_data", data=data, metadata=metadata or {})

    def clear_output(self, wait: bool = False) -> None:
        self.shell.outputs.clear(wait)


class _DisplayHook(DisplayHook):
    """A cell's last expression → an execute_result output (no prompts printed)."""

    def start_displayhook(self) -> None:
        pass

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.shell.outputs.add(
            "execute_result", data=format_dict, metadata=md_dict or {}, execution_count=self.prompt_count
        )

    def finish_displayhook(self) -> None:
        pass


class _Shell(InteractiveShell):
    displayhook_class = Type(_DisplayHook)
    display_pub_class = Type(_Publisher)
    outputs = _Outputs()

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.outputs.add("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb))


def _shell() -> _Shell:
    config = Config()
    config.HistoryManager.enabled = False  # no SQLite history shared by sections running side by side
    return _Shell.instance(config=config)


@contextmanager
def _captured(shell: _Shell, outputs: _Outputs):
    shell.outputs = outputs
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream(outputs, "stdout"), _Stream(outputs, "stderr")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


@contextmanager
def _time_limit(seconds: float | None):
    """Raise :class:`CellTimeoutError` in the running cell after ``seconds`` (main thread only)."""
    if not seconds:
        yield
        return

    def expired(signum, frame):
        raise CellTimeoutError(f"Cell execution timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute_cell(cell: nbformat.NotebookNode, timeout: float | None = None) -> bool:
    """Run one code cell in this process's shell: its outputs and execution count are set on the
    cell as a kernel would set them. False when the cell raised. Empty cells are skipped, as by
    nbclient."""
    if cell.cell_type != "code" or not cell.source.strip():
        return True
    shell = _shell()
    outputs = _Outputs()
    with _captured(shell, outputs), _time_limit(timeout):
        result = shell.run_cell(cell.source, store_history=True)
    cell.outputs = outputs.items
    cell.execution_count = shell.execution_count - 1
    return result.success


def reset_namespace() -> None:
    """Forget every name the cells defined (a fresh section in the same process, for benchmarks)."""
    _shell().reset(new_session=False)


class InProcessEngine(Engine):
    """Runs each code cell in this process's IPython shell; stops at the first cell with an error,
    as papermill's nbclient engine does."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, execution_timeout=None, **kwargs) -> None:
        for index, cell in enumerate(nb_man.nb.cells):
            nb_man.cell_start(cell, index)
            failed = not execute_cell(cell, execution_timeout)
            if failed:
                nb_man.cell_exception(cell, index)
            nb_man.cell_complete(cell, index)
            if failed:
                break


def warm_up() -> None:
    """Draw and save one small chart, so fonts and renderers are loaded before any fork."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [0, 1], label="warm")
    figure.legend()
    figure.savefig(io.BytesIO(), format="png")
    figure.savefig(io.BytesIO(), format="svg")


papermill_engines.register(ENGINE_NAME, InProcessEngine)
warm_up()
