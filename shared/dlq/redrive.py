"""Listing, showing and redriving dead letters: what the API and the command share.

``DlqTopics`` names, for each dead-letter topic, the topics its records may be sent
back to (the stage's inputs): a record whose origin is anything else came from a
foreign producer and is never sent, so a redrive cannot write to an arbitrary topic.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.dlq.kafka_io import read_dead_letters, send_back
from shared.dlq.records import DeadLetter, Outcome, Selection
from shared.dlq.store import record_redrive, times_redriven
from shared.kafka_connect import Brokers
from shared.settings import TopicNames

DlqName = Literal["ingest.dlq", "scoring.dlq", "triggers.dlq"]
DEFAULT_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class DlqTopic:
    name: DlqName  # as the API and the command name it
    kafka_topic: str  # as configured
    inputs: frozenset[str]  # where its records may go back to


def dlq_topics(topics: TopicNames) -> dict[str, DlqTopic]:
    return {
        "ingest.dlq": DlqTopic("ingest.dlq", topics.dlq, frozenset(topics.raw_topics())),
        "scoring.dlq": DlqTopic("scoring.dlq", topics.scoring_dlq, frozenset({topics.signals})),
        "triggers.dlq": DlqTopic(
            "triggers.dlq", topics.triggers_dlq, frozenset({topics.health_changes})
        ),
    }


@dataclass
class RedriveReport:
    redrive_id: str
    topic: str
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


def outcome_of(dead: DeadLetter, topic: DlqTopic, max_attempts: int) -> Outcome:
    refused = dead.why_not(max_attempts)
    if refused is not None:
        return refused
    assert dead.record is not None
    return "sent" if dead.record.source_topic in topic.inputs else "foreign_source"


async def select(bootstrap: Brokers, topic: DlqTopic, selection: Selection) -> list[DeadLetter]:
    everything = await read_dead_letters(bootstrap, topic.kafka_topic)
    return [d for d in everything if selection.matches(d)]


async def redrive(
    session: AsyncSession,
    bootstrap: Brokers,
    topic: DlqTopic,
    selection: Selection,
    *,
    dry_run: bool,
    max_attempts: int,
    requested_by: str,
) -> RedriveReport:
    """Send the selected dead letters back (unless ``dry_run``) and record the redrive in
    ``session`` (the caller commits).

    A selection by reason and time skips what an earlier redrive sent (its failures are
    new dead letters, with their attempt); ids name records to send whatever was done
    before. Either way twice is once: the stages deduplicate on event ids. The records
    are sent before the redrive is stored: one cut short is simply run again.
    """
    report = RedriveReport(str(uuid.uuid4()), topic.name, dry_run)
    chosen = await select(bootstrap, topic, selection)
    done = {} if selection.ids is not None else await times_redriven(session, topic.name)
    outcomes = [
        (d, "already_redriven" if done.get(d.id) else outcome_of(d, topic, max_attempts))
        for d in chosen
    ]
    missing = sorted(set(selection.ids or ()) - {d.id for d in chosen})
    if not dry_run:
        await send_back(bootstrap, [d for d, o in outcomes if o == "sent"], report.redrive_id)
    report.records = [_entry(d, o) for d, o in outcomes]
    report.records += [{"id": i, "outcome": "not_found", "attempt": None} for i in missing]
    report.counts = dict(Counter(r["outcome"] for r in report.records))
    await record_redrive(
        session,
        redrive_id=report.redrive_id,
        topic=topic.name,
        requested_by=requested_by,
        selector=selection.as_json(),
        dry_run=dry_run,
        counts=report.counts,
        records=report.records,
    )
    return report


def _entry(dead: DeadLetter, outcome: Outcome) -> dict[str, Any]:
    attempt = None if dead.record is None else dead.record.attempt
    return {"id": dead.id, "outcome": outcome, "attempt": attempt}


def page(dead: Sequence[DeadLetter], after: str | None, limit: int) -> list[DeadLetter]:
    """``limit`` dead letters after the one whose id is ``after`` (partition/offset order)."""
    start = 0
    if after is not None:
        partition, offset = (int(part) for part in after.split("/", 1))
        start = next(
            (i for i, d in enumerate(dead) if (d.partition, d.offset) > (partition, offset)),
            len(dead),
        )
    return list(dead[start : start + limit])
