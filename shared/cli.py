"""The ``vigil`` command: the local stack, the services, schemas, migrations.

The workload simulator is a tool, not part of the product: ``python -m bench.simulate``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
app.add_typer(stack_app, name="stack")
app.add_typer(importlib.import_module("services.scoring.scorecard.cli").app, name="scorecard")

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
) -> None:
    """Start Kafka and PostgreSQL (or reuse the running ones), migrate, create topics."""
    import asyncio
    from dataclasses import replace

    from shared import stack
    from shared.db import migrate
    from shared.kafka import ensure_topics
    from shared.settings import TopicNames

    config = replace(_stack_config(), brokers=brokers)
    info = stack.up(config, echo=typer.echo)
    migrate(info.database_url)
    typer.echo("postgresql: migrations applied")
    topics = TopicNames()
    asyncio.run(ensure_topics(info.kafka_bootstrap, topics.model_dump().values()))
    typer.echo("kafka: topics ready")
    env_file = stack_env_file()
    env_file.write_text(
        f"VIGIL_KAFKA_BOOTSTRAP={info.kafka_bootstrap}\nVIGIL_DATABASE_URL={info.database_url}\n"
    )
    typer.echo(f"export VIGIL_KAFKA_BOOTSTRAP={info.kafka_bootstrap}")
    typer.echo(f"export VIGIL_DATABASE_URL={info.database_url}")


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
    from shared.db import migrate as run_migrations

    url = database_url or _env_from_stack_file().get("VIGIL_DATABASE_URL")
    if not url:
        raise typer.BadParameter("set VIGIL_DATABASE_URL or run `vigil stack up` first")
    run_migrations(url)
    typer.echo("migrations applied")


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files")] = Path(
        "deploy/schemas"
    ),
) -> None:
    """Write the event contracts as JSON Schema files for producers."""
    from shared.contracts.schemas import write_schemas

    documents = importlib.import_module("services.scoring.scorecard.cli").DOCUMENTS
    for path in write_schemas(out, documents):
        typer.echo(str(path))


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
    """Measure the live health model against recorded outcomes (AUC, bands, weights)."""
    trust_cli = importlib.import_module("services.scoring.trust_cli")
    horizons = sorted(set(horizon)) if horizon else [30, 60, 90]
    trust_cli.calibrate(_database_url(database_url), horizons, plot, as_json, typer.echo)


@app.command()
def backtest(
    config: Annotated[Path, typer.Option(help="Candidate model config (JSON)", exists=True)],
    horizon: Horizons = None,
    database_url: Annotated[str | None, typer.Option(envvar="VIGIL_DATABASE_URL")] = None,
) -> None:
    """Replay the stored score history with a candidate config: AUC and playbooks by band."""
    trust_cli = importlib.import_module("services.scoring.trust_cli")
    horizons = sorted(set(horizon)) if horizon else [30, 60, 90]
    trust_cli.backtest(_database_url(database_url), config, horizons, typer.echo)


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


def _run_service(name: str) -> None:
    from pydantic import ValidationError

    from shared.settings import explain

    load_stack_env()
    module = importlib.import_module(f"services.{name}.app")
    try:
        module.run()
    except ValidationError as error:
        # a clear refusal (which variable, why) instead of a traceback; exit 2 like argparse
        typer.echo(f"vigil {name}: {explain(error)}", err=True)
        raise typer.Exit(2) from None


@app.command()
def ingest() -> None:
    """Run the ingest service (validate, normalize, re-key raw events)."""
    _run_service("ingest")


@app.command()
def scoring() -> None:
    """Run the scoring service (account state and health scores)."""
    _run_service("scoring")


@app.command()
def triggers() -> None:
    """Run the triggers service (playbook events and webhooks)."""
    _run_service("triggers")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
