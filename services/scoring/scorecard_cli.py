"""``vigil scorecard``: check a scorecard file before it goes anywhere.

Light at load (typer and the document models): ``vigil`` registers it at start-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from services.scoring.scorecard.document import Scorecard

if TYPE_CHECKING:
    from services.scoring.scorecard.compiled import CompiledScorecard
    from shared.settings.connections import PostgresTls

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


Database = Annotated[str, typer.Option(envvar="VIGIL_DATABASE_URL", help="Scoring database")]


def _compiled_or_exit(file: Path) -> tuple[Scorecard, CompiledScorecard]:
    """The file's scorecard, compiled; every error (with its path) on stderr and exit 1."""
    from services.scoring.scorecard.compiled import compile_scorecard
    from services.scoring.scorecard.default import load

    card, errors = load(file)
    if card is None:
        for error in errors:
            typer.echo(error, err=True)
        raise typer.Exit(1)
    try:
        return card, compile_scorecard(card)
    except ValueError as error:  # ``Unsupported``: valid, but not computable from state yet
        typer.echo(f"{file}: {error}", err=True)
        raise typer.Exit(1) from None


def _database_tls() -> PostgresTls:
    from pydantic import ValidationError

    from shared.settings.common import ConnectionSettings, explain

    try:
        return ConnectionSettings().database_tls
    except ValidationError as error:
        typer.echo(explain(error), err=True)
        raise typer.Exit(2) from None


T = TypeVar("T")


def _database_work(work: Callable[[], T], database_url: str) -> T:
    """``work()``, or a clear message and exit 1 when the database cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return work()
    except (OSError, SQLAlchemyError) as error:
        where = database_url.rsplit("@", 1)[-1]  # no credentials in the message
        typer.echo(f"cannot read the scoring database at {where}: {error}", err=True)
        raise typer.Exit(1) from None


class _Progress:
    """``done of total`` on stderr, at most every ``every_s`` seconds and at the end."""

    def __init__(self, what: str, every_s: float = 5.0) -> None:
        self._what, self._every, self._last = what, every_s, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= self._every:
            self._last = now
            typer.echo(f"{self._what}: {done} of {total} accounts", err=True)


@app.command()
def diff(
    file: Annotated[Path, typer.Argument(help="Candidate scorecard (YAML or JSON)", exists=True)],
    database_url: Database,
    chunk: Annotated[int, typer.Option(min=1, max=20000, help="Accounts read at a time")] = 1000,
    samples: Annotated[int, typer.Option(min=0, max=100, help="Account ids shown per move")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON")] = False,
) -> None:
    """Which accounts would change band under FILE, by segment, against the live scorecard
    (the live model when none is stored): every stored account scored by both at its
    latest score's time. Reads the scoring database only."""
    import asyncio
    import json

    from services.scoring.repository import scorecard_population as population
    from services.scoring.scorecard.diff import lines

    candidate = _compiled_or_exit(file)
    tls = _database_tls()

    async def run() -> tuple[str, Any]:
        from shared.database.engine import create_engine, create_sessionmaker, transaction

        engine = create_engine(database_url, pool_size=1, tls=tls)
        try:
            sessions = create_sessionmaker(engine)
            async with transaction(sessions) as session:
                live = await population.live_scorecard(session)
            result = await population.diff_population(
                sessions,
                (live.card, live.compiled),
                candidate,
                chunk=chunk,
                samples=samples,
                progress=_Progress("diff"),
            )
        finally:
            await engine.dispose()
        return live.model_version, result

    live_version, result = _database_work(lambda: asyncio.run(run()), database_url)
    if as_json:
        data = {"live": live_version, "candidate": candidate[1].version, **result.as_data()}
        typer.echo(json.dumps(data, indent=1))
        return
    for line in lines(result, live_version, candidate[1].version):
        typer.echo(line)


URL_OPTION = typer.Option(envvar="VIGIL_SCORING_URL", help="The scoring service")
TOKEN_OPTION = typer.Option(envvar="VIGIL_API_TOKEN", help="An admin token", show_default=False)


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="Scorecard (YAML or JSON)", exists=True)],
    url: Annotated[str, URL_OPTION] = "http://127.0.0.1:8082",
    token: Annotated[str, TOKEN_OPTION] = "",
) -> None:
    """Make a scorecard live (PUT /v1/config/scorecard): checked here, then by the service;
    prints the stored version. Every account is re-scored with it shortly after."""
    from services.scoring.scorecard.default import load

    card, errors = load(file)
    if card is None:
        for error in errors:
            typer.echo(error, err=True)
        raise typer.Exit(1)
    _send("PUT", url, token, card.model_dump(mode="json"))


@app.command()
def reset(
    url: Annotated[str, URL_OPTION] = "http://127.0.0.1:8082",
    token: Annotated[str, TOKEN_OPTION] = "",
) -> None:
    """Go back to the built-in model (DELETE /v1/config/scorecard); every account is
    re-scored with it shortly after. The replaced scorecard stays in the history."""
    _send("DELETE", url, token, None)


def _send(method: str, url: str, token: str, body: Any) -> None:
    import httpx

    if not token:
        typer.echo("an admin token is needed: --token or VIGIL_API_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        response = httpx.request(
            method,
            f"{url.rstrip('/')}/v1/config/scorecard",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach scoring at {url}: {error}", err=True)
        raise typer.Exit(1) from None
    reply = response.json() if response.headers.get("content-type") == "application/json" else {}
    if response.status_code != 200:
        typer.echo(
            f"refused ({response.status_code}): {reply.get('detail', response.text)}", err=True
        )
        raise typer.Exit(1)
    live = "the built-in model" if reply["live"] == "model" else reply["scorecard_version"]
    typer.echo(f"applied: version {reply['version']} ({live})")
