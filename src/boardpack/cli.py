"""The ``boardpack`` command line."""
from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Quarterly R&I board pack for an ICS.")


@app.callback()
def main() -> None:
    """Quarterly R&I board pack for an ICS."""
