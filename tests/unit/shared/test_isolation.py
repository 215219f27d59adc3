"""Batch splitting finds the poison records and applies the others once, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from shared.consumer._poison_bisect import apply_isolating
from shared.errors import DatabaseUnavailable


class FakeRecord:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class FakeSession:
    """Savepoints over a list: a failed block's appends are rolled back."""

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.dead: list[int] = []

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        mark = len(self.applied)
        try:
            yield
        except BaseException:
            del self.applied[mark:]
            raise


async def handle(session: Any, records: Sequence[Any]) -> None:
    for record in records:
        session.applied.append(record.offset)
        if record.value == b"poison":
            raise ValueError("bad")


async def dead_letter(session: Any, record: Any, _error: BaseException) -> None:
    session.dead.append(record.offset)


@pytest.mark.asyncio
async def test_poison_records_are_dead_lettered_and_the_rest_applied_in_order() -> None:
    records = [FakeRecord(i, b"poison" if i in (3, 17, 18) else b"ok") for i in range(40)]
    session = FakeSession()
    dead = await apply_isolating(session, records, handle, dead_letter)  # type: ignore[arg-type]
    assert dead == 3 and session.dead == [3, 17, 18]
    assert session.applied == [i for i in range(40) if i not in (3, 17, 18)]


@pytest.mark.asyncio
async def test_a_clean_batch_is_handled_once_and_a_transient_failure_propagates() -> None:
    session = FakeSession()
    records = [FakeRecord(i, b"ok") for i in range(10)]
    assert await apply_isolating(session, records, handle, dead_letter) == 0  # type: ignore[arg-type]
    assert session.applied == list(range(10))

    async def down(_session: Any, _records: Sequence[Any]) -> None:
        raise DatabaseUnavailable("away")

    with pytest.raises(DatabaseUnavailable):
        await apply_isolating(FakeSession(), records, down, dead_letter)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_dead_letter_refused_for_good_is_queued_again_without_the_key() -> None:
    """A failure outside the record's handling (its dead letter) still isolates the record:
    the batch goes on instead of the session restarting on the same record forever."""
    from aiokafka import ConsumerRecord
    from asyncpg.exceptions import CharacterNotInRepertoireError

    def record(offset: int, key: bytes | None, value: bytes) -> ConsumerRecord[bytes, bytes]:
        return ConsumerRecord("t", 0, offset, 0, 0, key, value, None, 0, 0, [])

    queued: list[tuple[int, bytes | None, str]] = []

    async def picky_sink(_session: Any, dead: Any, error: BaseException) -> None:
        if dead.key is not None and b"\x00" in dead.key:
            raise CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
        queued.append((dead.offset, dead.key, str(error)))

    records = [
        record(i, b"\x00" if i == 2 else b"k", b"poison" if i == 2 else b"ok") for i in range(5)
    ]
    session = FakeSession()
    dead = await apply_isolating(session, records, handle, picky_sink)  # type: ignore[arg-type]
    assert dead == 1 and session.applied == [0, 1, 3, 4]
    assert [(o, k) for o, k, _ in queued] == [(2, None)]
    assert "dead letter refused" in queued[0][2] and "CharacterNotInRepertoire" in queued[0][2]
