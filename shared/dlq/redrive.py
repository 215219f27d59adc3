"""Listing, showing and redriving dead letters: what the API and the command share.

``DlqTopics`` names, for each dead-letter topic, the topics its records may be sent
back to (the stage's inputs): a record whose origin is anything else came from a
foreign producer and is never sent, so a redrive cannot write to an arbitrary topic.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.dlq.kafka_io import Position, Sender, read_ids, scan
from shared.dlq.records import DeadLetter, Outcome, Selection
from shared.dlq.store import record_redrive, times_redriven
from shared.kafka.connect import Brokers
from shared.settings.common import TopicNames

DlqName = Literal["ingest.dlq", "scoring.dlq", "triggers.dlq"]
DEFAULT_MAX_ATTEMPTS = 2
DEFAULT_REDRIVE_LIMIT = 10_000  # dead letters one redrive examines; the next continues
MAX_REDRIVE_LIMIT = 100_000  # the redrive's record lists each one it examined
CHUNK = 500


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
    next_cursor: str | None = None  # more were left: the ``after`` that continues


Progress = Callable[[int, dict[str, int]], None]  # examined so far, counts so far


def _quiet(_examined: int, _counts: dict[str, int]) -> None:
    return None


def outcome_of(dead: DeadLetter, topic: DlqTopic, max_attempts: int) -> Outcome:
    refused = dead.why_not(max_attempts)
    if refused is not None:
        return refused
    assert dead.record is not None
    return "sent" if dead.record.source_topic in topic.inputs else "foreign_source"


async def matching(
    bootstrap: Brokers, topic: DlqTopic, selection: Selection, after: str | None = None
) -> AsyncGenerator[DeadLetter, None]:
    """The selected dead letters, streamed in partition/offset order: by ids, one seek
    each; by reason and time, a scan from ``after`` (an id) or from ``since``."""
    if selection.ids is not None:
        for dead in await read_ids(bootstrap, topic.kafka_topic, selection.ids):
            yield dead
        return
    start = None if after is None else Position.of(after)
    records = scan(bootstrap, topic.kafka_topic, since=selection.since, after=start)
    async with aclosing(records):
        async for dead in records:
            if selection.matches(dead):
                yield dead


async def page(
    bootstrap: Brokers, topic: DlqTopic, selection: Selection, after: str | None, limit: int
) -> tuple[list[DeadLetter], str | None]:
    """``limit`` selected dead letters after ``after``, and the cursor of the next page
    (``None``: none is left). Reads no further than one past the page."""
    shown: list[DeadLetter] = []
    more = False
    chosen = matching(bootstrap, topic, selection, after)
    async with aclosing(chosen):
        async for dead in chosen:
            if len(shown) == limit:
                more = True
                break
            shown.append(dead)
    return shown, (shown[-1].id if more and shown else None)


async def redrive(
    session: AsyncSession,
    bootstrap: Brokers,
    topic: DlqTopic,
    selection: Selection,
    *,
    dry_run: bool,
    max_attempts: int,
    requested_by: str,
    limit: int = DEFAULT_REDRIVE_LIMIT,
    after: str | None = None,
    progress: Progress = _quiet,
) -> RedriveReport:
    """Send the selected dead letters back (unless ``dry_run``) and record the redrive in
    ``session`` (the caller commits).

    A selection by reason and time skips what an earlier redrive sent (its failures are
    new dead letters, with their attempt); ids name records to send whatever was done
    before. Either way twice is once: the stages deduplicate on event ids. The records
    are sent before the redrive is stored: one cut short is simply run again.

    At most ``limit`` dead letters are examined, a chunk at a time (memory stays flat on
    a big topic); when more are left, ``next_cursor`` is the ``after`` that continues.
    ``progress`` hears the running counts after each chunk.
    """
    report = RedriveReport(str(uuid.uuid4()), topic.name, dry_run)
    counts: Counter[str] = Counter()
    found: set[str] = set()
    chosen = matching(bootstrap, topic, selection, after)
    sender = nullcontext(None) if dry_run else Sender(bootstrap, report.redrive_id)
    async with aclosing(chosen), sender as sending:
        async for chunk in _chunks(chosen, limit + 1):
            room = limit - len(report.records)
            if len(chunk) > room:  # the one past the limit: more are left
                chunk = chunk[:room]
                report.next_cursor = chunk[-1].id if chunk else report.records[-1]["id"]
            if not chunk:
                break
            before = len(report.records)
            await _redrive_chunk(session, topic, selection, chunk, max_attempts, sending, report)
            found |= {d.id for d in chunk}
            counts.update(r["outcome"] for r in report.records[before:])
            progress(len(report.records), dict(counts))
    missing = sorted(set(selection.ids or ()) - found)
    report.records += [{"id": i, "outcome": "not_found", "attempt": None} for i in missing]
    report.counts = dict(Counter(r["outcome"] for r in report.records))
    await record_redrive(
        session,
        redrive_id=report.redrive_id,
        topic=topic.name,
        requested_by=requested_by,
        selector=selection.as_json() | {"after": after, "limit": limit},
        dry_run=dry_run,
        counts=report.counts,
        records=report.records,
    )
    return report


async def _redrive_chunk(
    session: AsyncSession,
    topic: DlqTopic,
    selection: Selection,
    chunk: Sequence[DeadLetter],
    max_attempts: int,
    sender: Sender | None,
    report: RedriveReport,
) -> None:
    ids = [d.id for d in chunk]
    done = {} if selection.ids is not None else await times_redriven(session, topic.name, ids)
    outcomes = [
        (d, "already_redriven" if done.get(d.id) else outcome_of(d, topic, max_attempts))
        for d in chunk
    ]
    if sender is not None:
        await sender.send([d for d, o in outcomes if o == "sent"])
    report.records += [_entry(d, o) for d, o in outcomes]


async def _chunks(
    records: AsyncGenerator[DeadLetter, None], most: int
) -> AsyncGenerator[list[DeadLetter], None]:
    """``records`` in lists of ``CHUNK``, ``most`` records in all."""
    chunk: list[DeadLetter] = []
    taken = 0
    async for dead in records:
        chunk.append(dead)
        taken += 1
        if len(chunk) == CHUNK or taken == most:
            yield chunk
            chunk = []
        if taken == most:
            return
    if chunk:
        yield chunk


def _entry(dead: DeadLetter, outcome: Outcome) -> dict[str, Any]:
    attempt = None if dead.record is None else dead.record.attempt
    return {"id": dead.id, "outcome": outcome, "attempt": attempt}
