"""Consumer offsets kept in PostgreSQL, in the transaction of the state they produced.

The row of each partition is locked for the transaction, so two instances
that both hold a partition during a rebalance are serialized, and the later
one sees which offsets are already applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database.engine import unnest


def _positions(offsets: Mapping[TopicPartition, int]) -> tuple[str, dict[str, Any]]:
    """The partitions and their offsets as ``unnest`` rows ``(t, p, o)``."""
    tps = list(offsets)
    return unnest(
        t=("text", [tp.topic for tp in tps]),
        p=("int", [tp.partition for tp in tps]),
        o=("bigint", [offsets[tp] for tp in tps]),
    )


async def lock_offsets(
    session: AsyncSession, group_id: str, starts: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Lock the partitions' rows; a partition seen for the first time starts where asked."""
    rows, params = _positions(starts)
    params = {"g": group_id, **params}
    await session.execute(
        text(
            "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)"
            f" SELECT :g, * FROM {rows} ON CONFLICT DO NOTHING"
        ),
        params,
    )
    result = await session.execute(
        text(
            "SELECT topic, partition, next_offset FROM consumer_offsets"
            " WHERE group_id = :g AND (topic, partition) IN"
            f" (SELECT t, p FROM {rows} AS u(t, p, o))"
            " ORDER BY topic, partition FOR UPDATE"
        ),
        params,
    )
    return {TopicPartition(row[0], row[1]): row[2] for row in result}


async def store_offsets(
    session: AsyncSession, group_id: str, offsets: Mapping[TopicPartition, int]
) -> None:
    rows, params = _positions(offsets)
    await session.execute(
        text(
            f"UPDATE consumer_offsets c SET next_offset = u.o, updated_at = now() FROM {rows}"
            " AS u(t, p, o) WHERE c.group_id = :g AND c.topic = u.t AND c.partition = u.p"
        ),
        {"g": group_id, **params},
    )


async def load_offsets(session: AsyncSession, group_id: str) -> dict[TopicPartition, int]:
    result = await session.execute(
        text("SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = :g"),
        {"g": group_id},
    )
    return {TopicPartition(row[0], row[1]): row[2] for row in result}


async def advance_offsets(
    session: AsyncSession, group_id: str, positions: Mapping[TopicPartition, int]
) -> None:
    """Move stored offsets forward to ``positions`` (never back; new rows as needed)."""
    rows, params = _positions(positions)
    await session.execute(
        text(
            "INSERT INTO consumer_offsets AS c (group_id, topic, partition, next_offset)"
            f" SELECT :g, * FROM {rows} ON CONFLICT (group_id, topic, partition) DO UPDATE"
            " SET next_offset = GREATEST(c.next_offset, EXCLUDED.next_offset), updated_at = now()"
        ),
        {"g": group_id, **params},
    )
