"""The ``boardpack`` command line: a thin layer over the modules that do the work.

Exit codes: 0 success, 1 the pack could not be rendered or published (or `check` found
problems), 2 invalid parameters or data (nothing run), 3 a section failed, 4 another build of the
same pack is running.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Quarterly R&I board pack for an ICS.")

# Options several commands share (one definition, one help text).
QUARTER_OPTION = typer.Option(
    None, "--quarter", help="Quarter reported, e.g. '2026/27 Q2'. Default: the latest complete quarter."
)
ICB_OPTION = typer.Option(None, "--icb", help="ICB ODS code. Default: params/defaults.yml (QWU).")
DATA_OPTION = typer.Option(
    None, "--data", help="Folder of the quarter's tables. Default: the sample data (generated if absent)."
)


@app.callback()
def main() -> None:
    """Quarterly R&I board pack for an ICS."""


@app.command()
def validate(
    data: Path = typer.Option(..., "--data", help="Folder holding the quarter's tables (CSV, XLSX or Parquet)."),
    quarter: str | None = QUARTER_OPTION,
    log: Path | None = typer.Option(None, "--log", help="Also write the report to this file (default: .cache/logs/)."),
) -> None:
    """Check a data folder against the data contract; report every problem at once."""
    from boardpack.validate import run

    raise typer.Exit(run(data, quarter, log))


@app.command("sample-data")
def sample_data(
    out: Path = typer.Option(..., "--out", help="Folder to write the synthetic tables to."),
    icb: str = typer.Option("QWU", "--icb", help="ODS code of the ICB (any of the 42)."),
    to: str | None = typer.Option(None, "--to", help="Last quarter of history. Default: the latest complete quarter."),
    scale: str = typer.Option(
        "icb", "--scale", help="'icb' (one ICB) or 'national' (all 42 ICBs, >= 10M recruitment rows)."
    ),
    seed: int = typer.Option(20221, "--seed", help="Random seed: same arguments, byte-identical files."),
    icbs: str | None = typer.Option(
        None, "--icbs", help="With --scale national: only these ICBs, comma-separated (e.g. QWU,QYG,QHG)."
    ),
) -> None:
    """Write deterministic, realistic, synthetic sample data."""
    from sampledata.generate import run

    chosen = [c for c in (icbs or "").split(",") if c.strip()] or None
    raise typer.Exit(run(out=out, icb=icb, to=to, scale=scale, seed=seed, icbs=chosen))


@app.command()
def benchmarks(
    data: Path = typer.Option(..., "--data", help="Many-ICB data folder (e.g. the national extract)."),
    quarter: str | None = QUARTER_OPTION,
    out: Path = typer.Option(..., "--out", help="File to write: .csv or .parquet."),
) -> None:
    """Write the benchmarks table (each ICB's numerator and denominator of every comparable KPI)
    from a many-ICB folder, for packs built from one ICB's own extract; prints its path last.
    Exit 0 written, 2 bad arguments or data (nothing written)."""
    from boardpack.benchmarks import run

    raise typer.Exit(run(data, quarter, out, echo=typer.echo))


@app.command()
def check(
    pack: Path | None = typer.Argument(None, help="Published pack folder (holding board_pack.html)."),
    icb: str | None = typer.Option(
        None, "--icb", help="ICB code, with --quarter, instead of PACK: reports/<ICB>/<quarter id>/."
    ),
    quarter: str | None = typer.Option(None, "--quarter", help="Quarter of the pack, e.g. '2026/27 Q2'."),
    report: Path | None = typer.Option(
        None, "--report", help="Where to write the axe JSON report (default: .cache/check/<ICB>/<quarter id>_axe.json)."
    ),
    forbidden_values: Path | None = typer.Option(
        None,
        "--forbidden-values",
        help="Text file, one value a line (e.g. dates of birth from the input), that must appear in no published file.",
    ),
) -> None:
    """Check a published pack: axe-core (WCAG 2.2 A/AA) in headless Chromium, and a safety scan of
    every file. Exit 0 when clean, 1 when anything was found, 2 bad arguments, 3 browser missing."""
    from boardpack.check import run

    raise typer.Exit(run(pack, icb, quarter, report, forbidden_values, echo=typer.echo))


@app.command()
def build(
    quarter: str | None = QUARTER_OPTION,
    icb: str | None = ICB_OPTION,
    data: Path | None = DATA_OPTION,
    sections: list[str] | None = typer.Option(
        None, "--sections", help="Only these sections (ids, comma-separated), e.g. 10_research_activity."
    ),
    jobs: int | None = typer.Option(None, "--jobs", min=1, help="Sections run at once. Default: the machine's cores."),
    force: bool = typer.Option(False, "--force", help="Ignore the cache: run every section."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip board_pack.pdf."),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="fork (default): each section in a child of a warm worker; kernel: one Jupyter kernel per section.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Publish folder, anywhere (relative to the current folder). Default: reports in the project.",
    ),
    previous: Path | None = typer.Option(
        None,
        "--previous",
        help="The previous quarter's pack folder to compare with (changes, revisions). "
        "Default: <publish folder>/<ICB>/<previous quarter id> when published.",
    ),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="Any other parameter, NAME=VALUE (see params/defaults.yml)."
    ),
) -> None:
    """Build one board pack and publish it atomically; prints the pack's path last."""
    from rich.console import Console

    from boardpack import params as build_params
    from boardpack.build import build_pack
    from boardpack.sections import select

    console = Console(stderr=True)
    try:
        values = build_params.parse_assignments(param or [])
        if engine:
            values["engine"] = engine
        values.update(
            {
                "quarter": quarter,
                "icb": icb,
                "data_dir": str(data) if data else None,
                "out_dir": str(out) if out else None,
                "previous_pack": str(previous) if previous else None,
            }
        )
        resolved = build_params.resolve(values)
        chosen = select(_section_ids(sections))
    except ValueError as exc:  # ParamsError, QuarterError, unknown section
        console.print(f"[bold red]Invalid parameters:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None

    with _SectionProgress(console, [(s.id, s.title) for s in chosen]) as progress:
        result = build_pack(resolved, sections=chosen, jobs=jobs, force=force, pdf=not no_pdf, progress=progress.update)
    console.print()
    if result.exit_code != 0:
        console.print(f"[bold red]Build failed (exit {result.exit_code}):[/] {result.message}", highlight=False)
        if result.log_file:
            console.print(f"Log: {result.log_file}", highlight=False)
        raise typer.Exit(result.exit_code)
    if result.data_warnings:  # the data passed, but the analyst should know what was read how
        console.print(
            f"[yellow]{len(result.data_warnings)} data warning(s)[/] (the build went ahead):", highlight=False
        )
        for warning in result.data_warnings[:10]:
            console.print(f"  {warning}", highlight=False)
        if len(result.data_warnings) > 10:
            console.print(f"  ... {len(result.data_warnings) - 10} more in {result.log_file}", highlight=False)
    console.print(result.message, highlight=False)
    typer.echo(str(result.html))


app.command("pack", hidden=True, help="Same as build.")(build)


def _section_ids(options: list[str] | None) -> list[str]:
    """`--sections a,b --sections c` as ['a', 'b', 'c']."""
    return [s.strip() for item in options or [] for s in item.split(",") if s.strip()]


@app.command()
def batch(
    icb: str = typer.Option(..., "--icb", help="ICB codes, comma-separated (QWU,QYG), or ALL for the 42 ICBs."),
    quarters: str = typer.Option(..., "--quarters", help="A quarter or a range, e.g. 2025-26-Q1..2026-27-Q2."),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Folder of tables for all the ICBs (or one <quarter id>/ subfolder per quarter). Default: the national sample, generated if absent.",
    ),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="local:N (process pool, default N = cores), dask-local:N (Dask LocalCluster) or dask:ADDRESS (a running Dask scheduler).",
    ),
    sections: list[str] | None = typer.Option(
        None, "--sections", help="Only these sections in every pack (ids, comma-separated)."
    ),
    force: bool = typer.Option(False, "--force", help="Ignore the cache: run every section of every pack."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Skip board_pack.pdf."),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="fork (default): each section in a child of a warm worker; kernel: one Jupyter kernel per section.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Publish folder, anywhere (relative to the current folder). Default: reports in the project.",
    ),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="Any other parameter, NAME=VALUE (see params/defaults.yml)."
    ),
) -> None:
    """Build many packs (ICBs x quarters) on a process pool or Dask; write a batch index; prints its path last.

    Exit 0 when every pack is published or up to date, 1 when any pack failed (the index and the
    output list each failure and its cause), 2 for invalid arguments."""
    from rich.console import Console

    from boardpack import batch as batching, params as build_params
    from boardpack.sections import select

    console = Console(stderr=True)
    try:
        chosen_sections = select(_section_ids(sections))
        spec = batching.parse_executor(executor)
        icbs = batching.parse_icbs(icb)
        chosen = batching.parse_quarters(quarters)
        values = build_params.parse_assignments(param or [])
        if engine:
            values["engine"] = engine
        for name in ("icb", "quarter", "data_dir", "out_dir"):
            if name in values:
                raise build_params.ParamsError(f"--param {name}: use the batch option for it")
    except ValueError as exc:
        console.print(f"[bold red]Invalid arguments:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    total = len(icbs) * len(chosen)
    console.print(f"Building {total} pack(s): {len(icbs)} ICB(s) x {len(chosen)} quarter(s) on {spec}", highlight=False)
    count = {"n": 0}

    def report(pack) -> None:
        count["n"] += 1
        style = "green" if pack.exit_code == 0 else "bold red"
        console.print(
            f"[{count['n']}/{total}] {pack.icb} {pack.quarter}: [{style}]{pack.status}[/] "
            f"({len(pack.executed)} run, {len(pack.cached)} cached, {pack.finished_after_s:.1f} s)",
            highlight=False,
        )

    try:
        result = batching.run_batch(
            icbs,
            chosen,
            data=data,
            executor=spec,
            force=force,
            pdf=not no_pdf,
            out=out,
            values=values,
            sections=chosen_sections,
            on_pack=report,
        )
    except ValueError as exc:  # BatchError, ParamsError
        console.print(f"[bold red]Invalid arguments:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"{len(result.packs)} pack(s) in {result.duration_s:.1f} s on {result.executor}; "
        f"{result.submitted_sections} section task(s) and {result.submitted_assembles} assemble task(s) submitted.",
        highlight=False,
    )
    for pack in result.failed:
        console.print(
            f"[bold red]FAILED[/] {pack.icb} {pack.quarter} (exit {pack.exit_code}): {pack.message}", highlight=False
        )
    typer.echo(str(result.index))
    raise typer.Exit(result.exit_code)


@app.command()
def commentary(
    quarter: str | None = QUARTER_OPTION,
    icb: str | None = ICB_OPTION,
    data: Path | None = DATA_OPTION,
    sections: list[str] | None = typer.Option(
        None, "--sections", help="Only these sections (ids, comma-separated). Default: every section."
    ),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="Any other parameter, NAME=VALUE (e.g. commentary_dir, targets_file)."
    ),
) -> None:
    """Write a commentary stub per section, <commentary_dir>/<quarter id>/<section>.md, pre-filled with
    the section's summary and figures as notes the pack does not show; never overwrites a file."""
    from rich.console import Console

    from boardpack import params as build_params
    from boardpack.sections import select

    console = Console(stderr=True)
    try:
        values = build_params.parse_assignments(param or [])
        values.update({"quarter": quarter, "icb": icb, "data_dir": str(data) if data else None})
        resolved = build_params.resolve(values)
        chosen = [s.id for s in select(_section_ids(sections))]
    except ValueError as exc:  # ParamsError, QuarterError, unknown section
        console.print(f"[bold red]Invalid parameters:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None

    from helpers.commentary_stubs import commentary_stubs, write_stubs
    from helpers.loading import DataError, load_data
    from helpers.quarters import parse_range
    from helpers.targets import TargetsError, load_targets

    if resolved.sample_data and not resolved.data_dir.is_dir():
        from sampledata import generate

        code = generate.run(out=resolved.data_dir, icb=resolved.icb, to=resolved.quarter, scale="icb", seed=20221)
        if code not in (0, None):
            console.print(f"[bold red]Could not generate sample data[/] in {resolved.data_dir} (exit {code})")
            raise typer.Exit(1)
    from boardpack.extracts import ExtractError, data_for_pack

    try:
        targets = load_targets(resolved.targets_file) if resolved.targets_file else {}
        # a many-ICB folder is cut to the ICB's rows as for `boardpack build`, so the figures match its pack
        folder = data_for_pack(resolved.data_dir, resolved.icb, resolved.quarter, resolved.cache_dir).folder
        data = load_data(folder, resolved.quarter)
    except (DataError, TargetsError, ExtractError) as exc:
        console.print(f"[bold red]Cannot compute the figures:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    source = "the sample data" if resolved.sample_data else f"the data in {resolved.data_dir}"
    baseline = [q.id for q in parse_range(resolved.baseline_period)]
    texts = commentary_stubs(data, resolved.quarter, resolved.icb, targets, baseline, source, chosen)
    done = write_stubs(resolved.commentary_dir, resolved.quarter, texts)
    for path in done.written:
        typer.echo(f"wrote {path}")
    for path in done.kept:
        typer.echo(f"kept {path} (it exists; not overwritten)")
    typer.echo(f"{len(done.written)} stub(s) written, {len(done.kept)} existing file(s) kept.")


@app.command("list")
def list_packs(
    out: Path | None = typer.Option(None, "--out", help="Publish folder. Default: reports."),
) -> None:
    """Show the published packs: ICB, quarter, when built, versions kept."""
    import json

    from rich.console import Console
    from rich.table import Table

    from boardpack.publish import published_packs
    from helpers.paths import REPORTS_DIR

    table = Table(title="Published board packs")
    for column in ("ICB", "Quarter", "Built at", "Current version", "Versions kept", "Path"):
        table.add_column(column)
    packs = published_packs(out or REPORTS_DIR)
    for pack in packs:
        try:
            manifest = json.loads((pack["path"] / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        table.add_row(
            pack["icb"],
            manifest.get("pack", {}).get("quarter", pack["quarter_id"]),
            manifest.get("built_at", "?"),
            pack["current"].name,
            ", ".join(map(str, pack["versions"])),
            str(pack["path"] / "board_pack.html"),
        )
    Console().print(table if packs else "No published packs.")


class _SectionProgress:
    """A live table of sections: waiting, running, cached, done in N s, failed."""

    STYLES = {"waiting": "dim", "running": "yellow", "cached": "cyan", "done": "green", "failed": "bold red"}

    def __init__(self, console, sections: list[tuple[str, str]]):
        from rich.live import Live

        self.states = {sid: ("waiting", "") for sid, _ in sections}
        self.titles = dict(sections)
        self.started: dict[str, float] = {}
        self.live = Live(self._table(), console=console, transient=False, auto_refresh=False)

    def _table(self):
        from rich.table import Table

        table = Table(show_header=True, header_style="bold")
        table.add_column("Section")
        table.add_column("State")
        for sid, (state, detail) in self.states.items():
            label = {"done": f"done in {detail}", "failed": f"failed: {detail[:80]}"}.get(state, state)
            table.add_row(f"{sid} {self.titles[sid]}", f"[{self.STYLES.get(state, '')}]{label}[/]")
        return table

    def update(self, section_id: str, state: str, detail: str) -> None:
        self.states[section_id] = (state, detail)
        self.live.update(self._table(), refresh=True)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        return self.live.__exit__(*exc)
