"""Paging the accounts list with its cursor on the real database: every sort, ties on
the score and ids outside ASCII, each account once and in order."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.scoring.domain import cursor as page_cursor
from services.scoring.repository import scores
from shared.database.engine import create_engine, create_sessionmaker, transaction

ACCOUNTS = {
    "a-1": 57.123456789012344,
    "a-2": 57.123456789012344,  # a tie: the id decides
    "b/ñandú": 12.5,
    "c~tilde": 1e-05,
    "d-\U0001f600": 100.0,
    "e-5": 0.0,
    "f-6": 57.12345678901234,  # the next float down from a-1's
}
SORTS = {
    "account_id": sorted(ACCOUNTS),
    "score": sorted(ACCOUNTS, key=lambda a: (ACCOUNTS[a], a)),
    "-score": sorted(ACCOUNTS, key=lambda a: (ACCOUNTS[a], a), reverse=True),
}


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_give_every_account_once_in_order(database, sort: str) -> None:
    engine = create_engine(database, pool_size=1)
    sessions = create_sessionmaker(engine)
    try:
        async with transaction(sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO accounts (account_id, first_seen_at, last_event_at, score, band,"
                    " segment) VALUES (:id, now(), now(), :score, 'yellow', 'smb')"
                ),
                [{"id": account, "score": score} for account, score in ACCOUNTS.items()],
            )
        seen: list[str] = []
        position = None
        while True:
            async with transaction(sessions) as session:
                rows = await scores.list_accounts(
                    session, band=None, segment=None, sort=sort, limit=2, cursor=position
                )
            seen += [row.account_id for row in rows]
            if len(rows) < 2:
                break
            # through the wire format, as the route sends it and takes it back
            position = page_cursor.decode(page_cursor.encode(rows[-1].score, rows[-1].account_id))
    finally:
        await engine.dispose()
    assert seen == SORTS[sort]
