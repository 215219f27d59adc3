"""Applied event ids are pruned after the retention, in chunks; newer ones are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.scoring.retention import EventIdRetention
from shared.database.engine import create_engine, create_sessionmaker

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_event_ids_older_than_the_retention_are_pruned_in_chunks(database) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    engine = create_engine(database, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO applied_events (account_id, event_id, occurred_at, applied_at)"
                " SELECT 'a', 'e' || i, CAST(:t AS timestamptz),"
                " CAST(:t AS timestamptz) - make_interval(days => i)"
                " FROM generate_series(0, 99) AS i"
            ),
            {"t": now},
        )
    retention = EventIdRetention(
        create_sessionmaker(engine), timedelta(days=30), chunk_size=7, now=lambda: now
    )
    assert await retention.prune() == 69  # applied 31..99 days ago
    async with engine.connect() as conn:
        left = await conn.scalar(text("SELECT count(*) FROM applied_events"))
        oldest = await conn.scalar(text("SELECT min(applied_at) FROM applied_events"))
    await engine.dispose()
    assert left == 31 and oldest == now - timedelta(days=30)
