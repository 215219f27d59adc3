"""``vigil scorecard``: check a scorecard file before it goes anywhere.

Light at load (typer and the document models): ``vigil`` registers it at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from services.scoring.scorecard.document import Scorecard

app = typer.Typer(
    pretty_exceptions_enable=False,
    help="Scorecards: the health model as data (measures, segments, weights).",
    no_args_is_help=True,
)

# documents published as JSON Schema beside the event contracts (`make schemas`)
DOCUMENTS: dict[str, type[BaseModel]] = {"scorecard": Scorecard}


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Scorecard (YAML or JSON)", exists=True)],
    retention_days: Annotated[
        int,
        typer.Option(
            min=1,
            max=3650,
            envvar="VIGIL_ROLLUP_RETENTION_DAYS",
            help="Days of history scoring keeps (its VIGIL_ROLLUP_RETENTION_DAYS)",
        ),
    ] = 180,
) -> None:
    """Check a scorecard: every error with its path; exit 1 on errors."""
    from services.scoring.scorecard.default import load

    card, errors = load(file, retention_days)
    if card is None:
        for error in errors:
            typer.echo(error, err=True)
        raise typer.Exit(1)
    typer.echo(
        f"valid: {len(card.measures)} measures, {len(card.components)} components, "
        f"{len(card.segments) + 1} segments"
    )
