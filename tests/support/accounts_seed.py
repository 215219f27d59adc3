"""Scored accounts written by PostgreSQL itself (``generate_series``): the console's
benchmark (a million) and the test that its queries are index-backed (thousands)."""

from __future__ import annotations

from sqlalchemy import text

from shared.db import create_engine

# a score from the account number: about 8% red, the rest spread over yellow and green
SCORE = "CASE WHEN g % 12 = 0 THEN (g * 13) % 40 ELSE 40 + ((g * 7919) % 600) / 10.0 END"
HISTORY_EVERY = 100
SEED_SQL = [
    "INSERT INTO accounts (account_id, first_seen_at, last_event_at, arr, seats, started_at,"
    " renewal_at, segment, score, band, components, reasons, coverage, model_version,"
    " scored_as_of, updated_at)"
    " SELECT 'acct-' || lpad(g::text, 7, '0'), now() - interval '300 days',"
    " now() - (g % 20) * interval '1 hour', (g % 200) * 1000, 5 + g % 50,"
    " now() - interval '300 days', (now() + (g % 365) * interval '1 day')::date,"
    " (ARRAY['enterprise', 'mid_market', 'smb', 'self_serve'])[1 + (g / 7) % 4], s,"
    " CASE WHEN s >= 70 THEN 'green' WHEN s >= 40 THEN 'yellow' ELSE 'red' END,"
    " jsonb_build_object('usage', s, 'adoption', 60, 'support', 80, 'payment', 90,"
    " 'sentiment', null), '[\"Usage down 30% against its 4-week baseline\"]'::jsonb, 0.9,"
    " 'bench', now() - interval '1 hour', now()"
    f" FROM generate_series(1, :n) g, LATERAL (SELECT {SCORE} AS s) x",
    # one account in HISTORY_EVERY (those the bench opens) changed every 3 days for 90
    # days: 30 points on its chart; the history of the others would only fill the disk
    "INSERT INTO score_history (account_id, score, band, components, reasons, coverage,"
    " model_version, as_of, event_id, segment)"
    " SELECT a.account_id, greatest(0, least(100, a.score + (d % 7) * 3 - 9)), a.band,"
    " a.components, a.reasons, 0.9, 'bench', now() - d * interval '3 days',"
    " a.account_id || '-' || d, a.segment FROM accounts a, generate_series(0, 29) d"
    f" WHERE right(a.account_id, 7)::int % {HISTORY_EVERY} = 1",
    "ANALYZE",
]


async def seed_accounts(database_url: str, accounts: int) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        for sql in SEED_SQL:
            async with engine.begin() as conn:
                await conn.execute(text(sql), {"n": accounts} if ":n" in sql else {})
    finally:
        await engine.dispose()
