"""The ``vigil`` command: the local stack, the services, schemas, migrations.

The composition root: every service is imported here by name, so mypy checks each call.
Heavy imports stay inside the commands, so ``vigil stack status`` starts fast.
The workload simulator is a tool, not part of the product: ``python -m bench.simulate``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services.scoring.scorecard_cli import app as scorecard_app
from shared.dlq.cli import app as dlq_app
from vigil.connections import connection_settings as _connections
from vigil.secrets import secrets_app

if TYPE_CHECKING:
    from shared.stack import StackConfig

app = typer.Typer(
    pretty_exceptions_enable=False,
    help="Vigil: real-time account health on Kafka and PostgreSQL.",
    no_args_is_help=True,
)
stack_app = typer.Typer(
    pretty_exceptions_enable=False,
    help="The local Kafka + PostgreSQL stack (no docker).",
    no_args_is_help=True,
)
docs_app = typer.Typer(
    pretty_exceptions_enable=False,
    help="Generated parts of the documentation.",
    no_args_is_help=True,
)

# The sub-apps: one line each.
app.add_typer(stack_app, name="stack")
app.add_typer(docs_app, name="docs")
app.add_typer(secrets_app, name="secrets")
app.add_typer(dlq_app, name="dlq")
app.add_typer(scorecard_app, name="scorecard")

REPO_ROOT = Path(__file__).resolve().parent.parent


def _stack_config() -> StackConfig:
    from shared.stack import StackConfig

    root = Path.cwd() if (Path.cwd() / "pyproject.toml").exists() else REPO_ROOT
    return StackConfig.from_env(root)


def stack_env_file() -> Path:
    """Where ``vigil stack up`` writes the addresses the services default to."""
    return _stack_config().stack_dir / "stack.env"


@stack_app.command("up")
def stack_up(
    brokers: Annotated[
        int, typer.Option(min=1, max=9, help="Kafka nodes: 1, or 3 for a replicated cluster")
    ] = 1,
    secure: Annotated[
        bool, typer.Option(help="Kafka with SASL_SSL (SCRAM) and mutual TLS only, a local CA")
    ] = False,
) -> None:
    """Start Kafka and PostgreSQL (or reuse the running ones), migrate, create topics."""
    import asyncio
    from dataclasses import replace

    from shared import stack
    from shared.database.engine import migrate
    from shared.kafka.clients import ensure_topics
    from shared.settings.common import TopicNames

    config = replace(_stack_config(), brokers=brokers, secure=secure)
    info = stack.up(config, echo=typer.echo)
    migrate(info.database_url)
    typer.echo("postgresql: migrations applied")
    topics = TopicNames()
    asyncio.run(ensure_topics(info.kafka, topics.model_dump().values()))
    typer.echo("kafka: topics ready")
    env_file = stack_env_file()
    env = {
        "VIGIL_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
        "VIGIL_DATABASE_URL": info.database_url,
        **info.kafka_env,
    }
    env_file.unlink(missing_ok=True)
    env_file.touch(mode=0o600)  # a secure stack's file holds its SASL password
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    for key, value in env.items():
        shown = f"<in {env_file}>" if key.endswith("PASSWORD") else value
        typer.echo(f"export {key}={shown}")


@stack_app.command("down")
def stack_down() -> None:
    """Stop Kafka and PostgreSQL and remove their throwaway data."""
    from shared import stack

    stack.down(_stack_config(), echo=typer.echo)


@stack_app.command("status")
def stack_status() -> None:
    """Show whether Kafka and PostgreSQL are running, with their addresses."""
    from shared import stack

    for name, component in stack.status(_stack_config()).items():
        state = "running" if component.running else "stopped"
        where = f" at {component.address}" if component.address else ""
        pid = f" (pid {component.pid})" if component.pid else ""
        typer.echo(f"{name}: {state}{where}{pid}")


@app.command()
def migrate(
    database_url: Annotated[str | None, typer.Option(envvar="VIGIL_DATABASE_URL")] = None,
) -> None:
    """Apply the database migrations."""
    from shared.database.engine import migrate as run_migrations
    from shared.database.engine import redacted

    url = database_url or _env_from_stack_file().get("VIGIL_DATABASE_URL")
    if not url:
        raise typer.BadParameter("set VIGIL_DATABASE_URL or run `vigil stack up` first")
    run_migrations(url, tls=_connections().database_tls)
    typer.echo(f"migrations applied to {redacted(url)}")


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files")] = Path(
        "deploy/schemas"
    ),
) -> None:
    """Write the event contracts as JSON Schema files for producers."""
    from services.scoring.scorecard_cli import DOCUMENTS
    from shared.contracts.schemas import write_schemas

    for path in write_schemas(out, DOCUMENTS):
        typer.echo(str(path))


@docs_app.command("settings")
def docs_settings(
    page: Annotated[Path, typer.Option(help="The page holding the table")] = Path(
        "docs/configuration.md"
    ),
    check: Annotated[bool, typer.Option(help="Exit 1 if the page is not current")] = False,
) -> None:
    """Rewrite the settings table of the configuration page from the settings models."""
    from vigil import settings_doc

    if check:
        current = settings_doc.render(page.read_text()) == page.read_text()
        typer.echo(f"{page}: {'current' if current else 'out of date'}")
        raise typer.Exit(0 if current else 1)
    changed = settings_doc.write(page)
    typer.echo(f"{page}: {'rewritten' if changed else 'unchanged'}")


def _database_url(given: str | None) -> str:
    url = given or _env_from_stack_file().get("VIGIL_DATABASE_URL")
    if not url:
        raise typer.BadParameter("set VIGIL_DATABASE_URL or run `vigil stack up` first")
    return url


Horizons = Annotated[
    list[int] | None, typer.Option("--horizon", help="Days before each outcome (repeatable)")
]


@app.command()
def calibrate(
    horizon: Horizons = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write ROC per component and churn by band (PNG)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    database_url: Annotated[str | None, typer.Option(envvar="VIGIL_DATABASE_URL")] = None,
) -> None:
    """Measure the live health model against recorded outcomes (AUC, bands, weights),
    beside the playbooks' feedback (precision by what CSMs said of their episodes)."""
    from services.scoring.trust import cli as trust_cli
    from services.triggers import feedback_cli

    horizons = sorted(set(horizon)) if horizon else [30, 60, 90]
    tls = _connections().database_tls
    url = _database_url(database_url)
    feedback = feedback_cli.feedback_section(url, tls=tls)
    trust_cli.calibrate(url, horizons, plot, as_json, typer.echo, feedback, tls)


@app.command()
def backtest(
    config: Annotated[
        Path,
        typer.Option(
            help="Candidate model config (JSON), or a scorecard (YAML or JSON)", exists=True
        ),
    ],
    horizon: Horizons = None,
    database_url: Annotated[str | None, typer.Option(envvar="VIGIL_DATABASE_URL")] = None,
) -> None:
    """Replay the stored score history with a candidate config: AUC and playbooks by band.
    A scorecard is recomputed point in time from state instead: its AUC beside the live
    one's, and each measure's own."""
    from services.scoring.trust import cli as trust_cli

    horizons = sorted(set(horizon)) if horizon else [30, 60, 90]
    tls = _connections().database_tls
    try:
        trust_cli.backtest(_database_url(database_url), config, horizons, typer.echo, tls)
    except trust_cli.InvalidScorecard as error:
        for line in error.errors:
            typer.echo(line, err=True)
        raise typer.Exit(1) from None


def _env_from_stack_file() -> dict[str, str]:
    path = stack_env_file()
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}  # noqa: C416 (pairs are lists)


def load_stack_env() -> None:
    """Default unset VIGIL_ addresses to the local stack's, when it is up."""
    for key, value in _env_from_stack_file().items():
        os.environ.setdefault(key, value)


def _run_service(name: str, run: Callable[[], None]) -> None:
    from pydantic import ValidationError

    from shared.settings.common import explain

    try:
        run()
    except ValidationError as error:
        # a clear refusal (which variable, why) instead of a traceback; exit 2 like argparse
        typer.echo(f"vigil {name}: {explain(error)}", err=True)
        raise typer.Exit(2) from None


@app.command()
def ingest() -> None:
    """Run the ingest service (validate, normalize, re-key raw events)."""
    load_stack_env()  # before the service's settings read the environment
    from services.ingest.app import run

    _run_service("ingest", run)


@app.command()
def scoring() -> None:
    """Run the scoring service (account state and health scores)."""
    load_stack_env()
    from services.scoring.app import run

    _run_service("scoring", run)


@app.command()
def triggers() -> None:
    """Run the triggers service (playbook events and webhooks)."""
    load_stack_env()
    from services.triggers.app import run

    _run_service("triggers", run)


@app.command()
def console() -> None:
    """Run the console (web pages over the other services' HTTP APIs)."""
    from services.console.app import run

    _run_service("console", run)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
