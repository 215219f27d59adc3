"""An endpoint's continuous-failure clock: started by a failed round, cleared by a good one,
and a healthy endpoint's row is not rewritten by every successful round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.triggers.webhooks import repository as repo
from shared.database.engine import create_engine, create_sessionmaker, transaction

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def test_failing_since_starts_clears_and_disables(database) -> None:
    engine = create_engine(database, pool_size=1)
    sessions = create_sessionmaker(engine)

    async def round_(ok: bool, at: datetime) -> str | None:
        async with transaction(sessions) as session:
            return await repo.mark_endpoint(session, "s1", ok=ok, now=at, disable_after_s=60)

    async def row() -> tuple[str, datetime | None, datetime | None]:
        async with engine.connect() as conn:
            found = (
                await conn.execute(
                    text(
                        "SELECT xmin::text, failing_since, disabled_at"
                        " FROM webhook_subscriptions WHERE id = 's1'"
                    )
                )
            ).one()
        return found[0], found[1], found[2]

    try:
        async with transaction(sessions) as session:
            await repo.insert_subscription(
                session,
                {
                    "id": "s1",
                    "url": "https://example.com/hook",
                    "event_types": ["health.changed"],
                    "filter_playbooks": None,
                    "filter_segments": None,
                    "filter_bands": None,
                    "secret": "whsec_test",
                    "now": T0,
                },
            )
        version, _, _ = await row()
        assert await round_(True, T0) is None
        assert await row() == (version, None, None)  # healthy: not rewritten

        assert await round_(False, T0) is None
        assert await round_(False, T0 + timedelta(seconds=30)) is None
        assert (await row())[1:] == (T0, None)
        assert await round_(True, T0 + timedelta(seconds=40)) is None
        assert (await row())[1:] == (None, None)  # recovered: the clock starts again

        assert await round_(False, T0 + timedelta(seconds=50)) is None
        reason = await round_(False, T0 + timedelta(seconds=110))
        assert reason is not None and "failing continuously" in reason
        assert (await row())[2] == T0 + timedelta(seconds=110)
    finally:
        await engine.dispose()
