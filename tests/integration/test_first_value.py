"""First value (the first use of an account's third distinct feature) stays true in any order,
though a batch recomputes it only where the batch moved a feature's first use."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import text

from services.scoring.domain.fold import fold_signals
from services.scoring.domain.signal_decode import decode_signal
from services.scoring.repository.writes import apply_changes
from shared.database.engine import create_engine, create_sessionmaker, transaction

pytestmark = pytest.mark.asyncio(loop_scope="session")

ids = itertools.count()


def use(feature: str, hour: int, account: str = "fv-1") -> bytes:
    return orjson.dumps(
        {
            "source": "usage",
            "event_id": f"e{next(ids)}",
            "account_id": account,
            "user_id": "u1",
            "type": "used",
            "feature": feature,
            "occurred_at": f"2026-05-01T{hour:02d}:00:00Z",
            "ingested_at": "2026-05-02T00:00:00Z",
        }
    )


def at(hour: int) -> datetime:
    return datetime(2026, 5, 1, hour, tzinfo=UTC)


async def test_first_value_follows_new_and_earlier_first_uses(database) -> None:
    engine = create_engine(database, pool_size=1)
    sessions = create_sessionmaker(engine)

    async def batch(*values: bytes) -> datetime | None:
        async with transaction(sessions) as session:
            await apply_changes(session, fold_signals([decode_signal(v) for v in values]))
        async with engine.connect() as conn:
            value = await conn.scalar(
                text("SELECT first_value_at FROM accounts WHERE account_id = 'fv-1'")
            )
        assert value is None or isinstance(value, datetime)
        return value

    try:
        assert await batch(use("reports", 10), use("export", 11)) is None
        assert await batch(use("reports", 12), use("api", 13)) == at(13)
        assert await batch(use("reports", 14), use("export", 14), use("api", 14)) == at(13)
        # late events: a new feature used first of all, then an earlier use of a known one
        assert await batch(use("dashboards", 9)) == at(11)
        assert await batch(use("api", 8)) == at(10)
        # another account's feature uses leave this one's alone
        assert await batch(use("reports", 7, "fv-2"), use("export", 7, "fv-2")) == at(10)
    finally:
        await engine.dispose()
