"""``boardpack validate``: check a data folder against the contract and report every problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from helpers.loading import DataError, Problem, check_data, format_report
from helpers.paths import CACHE_DIR, REPORTS_DIR
from helpers.quarters import QuarterError, latest_complete, parse

EXIT_VALID = 0
EXIT_INVALID = 2
LOG_DIR = CACHE_DIR / "logs"


def default_log_path(quarter_id: str, now: dt.datetime | None = None) -> Path:
    """Where the report is written when no --log is given (never under reports/)."""
    now = now or dt.datetime.now()
    return LOG_DIR / f"validate-{quarter_id}-{now:%Y%m%dT%H%M%S}.log"


def run(data_dir: Path, quarter: str | None, log_path: Path | None, console: Console | None = None) -> int:
    """Validate ``data_dir`` for ``quarter``; print and log the report; return 0 valid, 2 invalid."""
    console = console or Console(highlight=False)
    try:
        reported = parse(quarter) if quarter else latest_complete()
    except QuarterError as exc:
        console.print(f"[bold red]Invalid --quarter:[/] {escape(str(exc))}")
        return EXIT_INVALID
    log_path = Path(log_path) if log_path else default_log_path(reported.id)
    if _is_within(log_path, REPORTS_DIR):
        console.print(
            f"[bold red]Refusing to write the log into reports/[/] ({escape(str(log_path))}): reports/ holds published packs only."
        )
        return EXIT_INVALID

    heading = f"Data folder: {Path(data_dir).resolve()}\nQuarter reported: {reported}"
    try:
        _, problems = check_data(data_dir, reported)
    except DataError as exc:  # the folder itself is unusable (missing, or two files for a table)
        problems = exc.problems
    report = format_report(problems, heading)
    errors = [p for p in problems if p.severity == "error"]

    _print(console, report, problems)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(report + "\n", encoding="utf-8")
    console.print(f"Report written to {escape(str(log_path))}")
    if errors:
        console.print(f"[bold red]INVALID:[/] {len(errors)} error(s). Fix them and run `boardpack validate` again.")
        return EXIT_INVALID
    console.print("[bold green]VALID[/]: the data meet the contract.")
    return EXIT_VALID


def _print(console: Console, report: str, problems: list[Problem]) -> None:
    # Colour the severity labels only; the text is the same as the log's.
    for line in report.splitlines():
        text = escape(line)
        if line.startswith("  ERROR"):
            text = text.replace("ERROR", "[bold red]ERROR[/]", 1)
        elif line.startswith("  warning"):
            text = text.replace("warning", "[yellow]warning[/]", 1)
        elif line and not line.startswith(" ") and any(line == p.file for p in problems):
            text = f"[bold]{text}[/]"
        console.print(text, soft_wrap=True)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
