"""Find the record that fails for good by splitting its batch, inside one transaction.

The whole batch is tried under a savepoint first (the common case costs one
``SAVEPOINT``). On a permanent failure the savepoint is rolled back and each
half is tried the same way, in order, so the records before a poison record
are applied before it is tried: a failure that needs two records (a day's sum
that overflows) isolates the second. A single failing record is handed to
``dead_letter`` in the same transaction. A transient failure is re-raised: the
loop rolls the whole transaction back and retries the batch. Work: about
2·n·log(n) records handled for one poison record in n, n when there is none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from shared.failures import FailureKind, classify
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
        if len(records) == 1:
            await dead_letter(session, records[0], error)
            return 1
        log.info("batch failed for good; splitting it", records=len(records), error=repr(error))
    middle = len(records) // 2
    first = await apply_isolating(session, records[:middle], handle, dead_letter)
    return first + await apply_isolating(session, records[middle:], handle, dead_letter)
