"""The ``boardpack`` command line: a thin layer over the modules that do the work.

Exit codes (every command): 0 success, 2 invalid parameters or data (nothing run), 3 a section
failed, 4 another build of the same pack is running.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Quarterly R&I board pack for an ICS.")


@app.callback()
def main() -> None:
    """Quarterly R&I board pack for an ICS."""


@app.command()
def validate(
    data: Path = typer.Option(..., "--data", help="Folder holding the quarter's tables (CSV, XLSX or Parquet)."),
    quarter: Optional[str] = typer.Option(None, "--quarter", help="Quarter reported, e.g. '2026/27 Q2'. Default: the latest complete quarter."),
    log: Optional[Path] = typer.Option(None, "--log", help="Also write the report to this file (default: .cache/logs/)."),
) -> None:
    """Check a data folder against the data contract; report every problem at once."""
    from boardpack.validate import run

    raise typer.Exit(run(data, quarter, log))


@app.command("sample-data")
def sample_data(
    out: Path = typer.Option(..., "--out", help="Folder to write the synthetic tables to."),
    icb: str = typer.Option("QWU", "--icb", help="ODS code of the ICB (any of the 42)."),
    to: Optional[str] = typer.Option(None, "--to", help="Last quarter of history. Default: the latest complete quarter."),
    scale: str = typer.Option("icb", "--scale", help="'icb' (one ICB) or 'national' (all 42 ICBs, >= 10M recruitment rows)."),
    seed: int = typer.Option(20221, "--seed", help="Random seed: same arguments, byte-identical files."),
) -> None:
    """Write deterministic, realistic, synthetic sample data."""
    from boardpack.sample_data import run

    raise typer.Exit(run(out=out, icb=icb, to=to, scale=scale, seed=seed))


@app.command()
def check(
    pack: Optional[Path] = typer.Argument(None, help="Published pack folder (holding board_pack.html)."),
    icb: Optional[str] = typer.Option(None, "--icb", help="ICB code, with --quarter, instead of PACK: reports/<ICB>/<quarter id>/."),
    quarter: Optional[str] = typer.Option(None, "--quarter", help="Quarter of the pack, e.g. '2026/27 Q2'."),
    report: Optional[Path] = typer.Option(None, "--report", help="Where to write the axe JSON report (default: .cache/check/<ICB>/<quarter id>_axe.json)."),
    forbidden_values: Optional[Path] = typer.Option(None, "--forbidden-values", help="Text file, one value a line (e.g. dates of birth from the input), that must appear in no published file."),
) -> None:
    """Check a published pack: axe-core (WCAG 2.2 A/AA) in headless Chromium, and a safety scan of
    every file. Exit 0 when clean, 1 when anything was found, 2 bad arguments, 3 browser missing."""
    from boardpack.check import run

    raise typer.Exit(run(pack, icb, quarter, report, forbidden_values, echo=typer.echo))
