"""``boardpack benchmarks``: the ``benchmarks`` table (peer inputs) of one quarter, written from a
many-ICB data folder for analysts who hold only their own ICB's extract (docs/benchmarking.md)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape

EXIT_OK = 0
EXIT_INVALID = 2
SUFFIXES = (".csv", ".parquet")


def run(data_dir: Path, quarter: str | None, out: Path, console: Console | None = None, echo=print) -> int:
    """Check ``data_dir`` (the tables the comparable KPIs read, with :func:`helpers.loading.load_data`),
    compute every ICB's peer inputs for ``quarter`` and write them to ``out`` (CSV or Parquet by
    suffix); ``echo`` the path last. Returns 0, or 2 for bad arguments or data (nothing written)."""
    from helpers.benchmarks import peer_inputs, write_benchmarks
    from helpers.kpis import COMPARABLE
    from helpers.loading import DataError, load_data
    from helpers.quarters import QuarterError, latest_complete, parse

    console = console or Console(stderr=True, highlight=False)
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        console.print(f"[bold red]Invalid --out:[/] {escape(str(out))}: name the file .csv or .parquet")
        return EXIT_INVALID
    try:
        reported = parse(quarter) if quarter else latest_complete()
    except QuarterError as exc:
        console.print(f"[bold red]Invalid --quarter:[/] {escape(str(exc))}")
        return EXIT_INVALID
    tables = sorted({"organisations", *(t for kpi in COMPARABLE.values() for t in kpi.tables)})
    try:
        data = load_data(data_dir, reported, tables=tables)
    except DataError as exc:
        console.print(escape(str(exc)), soft_wrap=True)
        console.print(
            f"[bold red]INVALID:[/] {sum(p.severity == 'error' for p in exc.problems)} error(s); nothing written."
        )
        return EXIT_INVALID
    frame = peer_inputs(data, reported)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial{out.suffix}")
    write_benchmarks(frame, partial)
    os.replace(partial, out)
    icbs = frame["IcbCode"].nunique()
    console.print(f"{len(frame)} rows: {len(COMPARABLE)} comparable KPIs for {icbs} ICB(s), {reported}.")
    echo(str(out))
    return EXIT_OK
