"""Find the record that fails for good by splitting its batch, inside one transaction.

The whole batch is tried under a savepoint first (the common case costs one
``SAVEPOINT``). On a permanent failure the savepoint is rolled back and each
half is tried the same way, in order, so the records before a poison record
are applied before it is tried: a failure that needs two records (a day's sum
that overflows) isolates the second. A single failing record is handed to
``dead_letter`` in the same transaction, under a savepoint of its own: a
dead letter that fails for good is queued again without the record's key, so
even a failure outside the record's handling isolates the record rather than
restarting the session. A transient failure is re-raised: the
loop rolls the whole transaction back and retries the batch. Work: about
2·n·log(n) records handled for one poison record in n, n when there is none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer.failures import FailureKind, classify, describe
from shared.logging import get_logger

log = get_logger(__name__)

Records = Sequence[ConsumerRecord]
BatchHandler = Callable[[AsyncSession, Records], Awaitable[None]]
DeadLetterSink = Callable[[AsyncSession, ConsumerRecord, BaseException], Awaitable[None]]


async def apply_isolating(
    session: AsyncSession,
    records: Records,
    handle: BatchHandler,
    dead_letter: DeadLetterSink,
) -> int:
    """Apply ``records`` with ``handle``; returns how many were dead-lettered."""
    try:
        async with session.begin_nested():
            await handle(session, records)
        return 0
    except Exception as error:
        if classify(error) is FailureKind.transient:
            raise
        failure = error
    if len(records) == 1:
        # outside the except block: what the sink raises is not chained to ``failure``
        # (classify reads the chain, and would call a lost connection permanent)
        await _dead_letter_safely(session, records[0], failure, dead_letter)
        return 1
    log.info("batch failed for good; splitting it", records=len(records), error=repr(failure))
    middle = len(records) // 2
    first = await apply_isolating(session, records[:middle], handle, dead_letter)
    return first + await apply_isolating(session, records[middle:], handle, dead_letter)


class DeadLetterFailed(Exception):
    """The dead letter of a record could not be queued as it was (the reason says why)."""


async def _dead_letter_safely(
    session: AsyncSession, record: ConsumerRecord, error: Exception, dead_letter: DeadLetterSink
) -> None:
    """Dead-letter ``record`` under a savepoint of its own; if that fails for good (the
    sink choked on the record's bytes), once more without the key, naming the failure.

    The failure is then outside the record's handling, but it is still this record's:
    it must not roll back the batch's transaction and restart the session, which
    would meet the same record again, forever.
    """
    try:
        async with session.begin_nested():
            await dead_letter(session, record, error)
        return
    except Exception as sink_error:
        if classify(sink_error) is FailureKind.transient:
            raise
        log.error(
            "dead letter refused; queueing it without its key",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=repr(sink_error)[:300],
        )
        refused = describe(sink_error, 300)
        failed = DeadLetterFailed(f"{describe(error, 500)}; dead letter refused: {refused}")
    async with session.begin_nested():
        await dead_letter(session, replace(record, key=None), failed)
