"""``vigil dlq list|show|redrive``: the dead-letter admin API's operations from a shell.

Talks to Kafka and PostgreSQL directly (``VIGIL_KAFKA_BOOTSTRAP``,
``VIGIL_DATABASE_URL``; topic names from ``VIGIL_TOPICS__*`` as the services read
them), so it works while the services are down. Redrives are recorded as
``cli <user>``.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

if TYPE_CHECKING:
    from shared.dlq.redrive import DlqTopic
    from shared.settings.common import ConnectionSettings

app = typer.Typer(
    pretty_exceptions_enable=False,
    help="Dead letters: list, show and redrive ingest.dlq, scoring.dlq, triggers.dlq.",
    no_args_is_help=True,
)

Topic = Annotated[str, typer.Option(help="ingest.dlq, scoring.dlq or triggers.dlq")]
Database = Annotated[str, typer.Option(envvar="VIGIL_DATABASE_URL")]
Reason = Annotated[str | None, typer.Option(help="Only this reason code")]
Since = Annotated[datetime | None, typer.Option(help="Received at or after (UTC)")]
Until = Annotated[datetime | None, typer.Option(help="Received before (UTC)")]
After = Annotated[
    str | None,
    typer.Option(help="Continue after this PARTITION/OFFSET (a page's next cursor)"),
]


def _topic(name: str) -> DlqTopic:
    from shared.dlq.redrive import dlq_topics
    from shared.settings.common import TopicNames

    names = {
        field: os.environ.get(f"VIGIL_TOPICS__{field.upper()}", default)
        for field, default in TopicNames().model_dump().items()
    }
    topics = dlq_topics(TopicNames(**names))
    if name not in topics:
        raise typer.BadParameter(f"{name!r}: one of {', '.join(topics)}")
    return topics[name]


def _connections() -> ConnectionSettings:
    """Kafka and PostgreSQL as the services connect (``VIGIL_KAFKA_*``, docs/security.md)."""
    from pydantic import ValidationError

    from shared.settings.common import ConnectionSettings, explain

    try:
        return ConnectionSettings()
    except ValidationError as error:
        typer.echo(explain(error), err=True)
        raise typer.Exit(2) from None


def _echo(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@app.command("list")
def list_(
    topic: Topic,
    database_url: Database,
    reason: Reason = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Dead letters shown")] = 100,
    after: After = None,
) -> None:
    """A page of a topic's dead letters (partition/offset order), then its latest redrives.

    Reads from ``--after`` (or ``--since`` by the topic's time index) to one past the
    page, never the whole topic; the last line names the ``--after`` of the next page.
    """
    from shared.dlq.records import Selection
    from shared.dlq.redrive import page
    from shared.dlq.store import list_redrives

    target = _topic(topic)
    selection = Selection(None, reason, since, until)
    shown, more = asyncio.run(page(_connections().kafka, target, selection, after, limit))
    for dead in shown:
        r = dead.record
        if r is None:
            typer.echo(f"{dead.id}  (not a dead-letter record)")
            continue
        typer.echo(
            f"{dead.id}  {r.received_at.isoformat()}  attempt {r.attempt}  {r.reason.code}"
            f"  from {r.source_topic}/{r.partition}/{r.offset}: {r.reason.message[:80]}"
        )
    typer.echo(f"{len(shown)} dead letters selected in {target.name}")
    if more is not None:
        typer.echo(f"more: --after {more}")
    rows = asyncio.run(_in_session(database_url, lambda s: list_redrives(s, target.name, 10)))
    for row in rows:
        mode = "dry run" if row.dry_run else "redrive"
        typer.echo(
            f"{mode} {row.redrive_id} by {row.requested_by} at"
            f" {row.requested_at.isoformat()}: {row.counts}"
        )


@app.command()
def show(
    topic: Annotated[str, typer.Argument(help="ingest.dlq, scoring.dlq or triggers.dlq")],
    record_id: Annotated[str, typer.Argument(metavar="PARTITION/OFFSET")],
) -> None:
    """One dead letter in full (its original bytes as stored)."""
    from shared.dlq.kafka_io import read_ids

    if not re.fullmatch(r"[0-9]{1,9}/[0-9]{1,18}", record_id):
        raise typer.BadParameter(f"{record_id!r}: PARTITION/OFFSET, e.g. 0/42")
    found = asyncio.run(read_ids(_connections().kafka, _topic(topic).kafka_topic, [record_id]))
    if not found:
        typer.echo(f"no dead letter {record_id} in {topic}", err=True)
        raise typer.Exit(1)
    record = found[0].record
    _echo(None if record is None else record.model_dump(mode="json"))


@app.command("redrive")
def redrive_(
    topic: Topic,
    database_url: Database,
    ids: Annotated[list[str] | None, typer.Option("--id", help="PARTITION/OFFSET")] = None,
    reason: Reason = None,
    since: Since = None,
    until: Until = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only")] = False,
    max_attempts: Annotated[int, typer.Option(envvar="VIGIL_DLQ_MAX_ATTEMPTS", min=1)] = 2,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="Dead letters examined at most")
    ] = 10_000,
    after: After = None,
) -> None:
    """Send dead letters back through their stage (by ids, or by reason and time range).

    Progress goes to stderr a chunk at a time; past ``--limit`` the answer's
    ``next_cursor`` is the ``--after`` that continues."""
    from shared.dlq.records import Selection
    from shared.dlq.redrive import redrive

    target = _topic(topic)
    if ids and (reason or since or until or after):
        raise typer.BadParameter("give --id, or --reason/--since/--until/--after, not both")

    def progress(examined: int, counts: dict[str, int]) -> None:
        typer.echo(f"{examined} examined: {counts}", err=True)

    selection = Selection(ids or None, reason, since, until)
    who = f"cli {getpass.getuser()}"

    async def run(session: Any) -> Any:
        return await redrive(
            session,
            _connections().kafka,
            target,
            selection,
            dry_run=dry_run,
            max_attempts=max_attempts,
            requested_by=who,
            limit=limit,
            after=after,
            progress=progress,
        )

    report = asyncio.run(_in_session(database_url, run))
    _echo(
        {
            "redrive_id": report.redrive_id,
            "dry_run": dry_run,
            "counts": report.counts,
            "next_cursor": report.next_cursor,
        }
    )


async def _in_session(database_url: str, work: Any) -> Any:
    from shared.database.engine import create_engine, create_sessionmaker, transaction

    engine = create_engine(database_url, pool_size=1, tls=_connections().database_tls)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()
