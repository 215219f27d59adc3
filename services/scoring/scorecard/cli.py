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


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="Scorecard (YAML or JSON)", exists=True)],
    url: Annotated[
        str, typer.Option(envvar="VIGIL_SCORING_URL", help="The scoring service")
    ] = "http://127.0.0.1:8082",
    token: Annotated[
        str, typer.Option(envvar="VIGIL_API_TOKEN", help="An admin token", show_default=False)
    ] = "",
) -> None:
    """Make a scorecard live (PUT /v1/config/scorecard): checked here, then by the service;
    prints the stored version. Every account is re-scored with it shortly after."""
    import httpx

    from services.scoring.scorecard.default import load

    card, errors = load(file)
    if card is None:
        for error in errors:
            typer.echo(error, err=True)
        raise typer.Exit(1)
    if not token:
        typer.echo("an admin token is needed: --token or VIGIL_API_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        response = httpx.put(
            f"{url.rstrip('/')}/v1/config/scorecard",
            json=card.model_dump(mode="json"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach scoring at {url}: {error}", err=True)
        raise typer.Exit(1) from None
    body = response.json() if response.headers.get("content-type") == "application/json" else {}
    if response.status_code != 200:
        typer.echo(
            f"refused ({response.status_code}): {body.get('detail', response.text)}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"applied: version {body['version']} ({body['scorecard_version']})")
