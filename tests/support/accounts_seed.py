"""Scored accounts written by PostgreSQL itself (``generate_series``): the console's
benchmark (a million) and the test that its queries are index-backed (thousands).

What a page reads is there in the proportions of a live deployment: every account
in scoring's ``accounts`` and triggers' ``trigger_accounts``; one in
``HISTORY_EVERY`` with 30 score changes over 90 days (those the bench opens), a
closed playbook episode and a resolved one; the red accounts with an open episode;
one in ``OUTCOME_EVERY`` with a recorded churn or renewal, so the accuracy report
replays the history before 10,000 outcomes at a million accounts.
"""

from __future__ import annotations

from sqlalchemy import text

from shared.database.engine import create_engine

# a score from the account number: about 8% red, the rest spread over yellow and green
# (bigint: g * 7919 passes int4 from g = 271,000 on)
SCORE = (
    "CASE WHEN g % 12 = 0 THEN (g::bigint * 13) % 40"
    " ELSE 40 + ((g::bigint * 7919) % 600) / 10.0 END"
)
HISTORY_EVERY = 10
HISTORY_POINTS = 30
OUTCOME_EVERY = 100
_ID = "'acct-' || lpad(g::text, 7, '0')"
_NUMBER = "right(a.account_id, 7)::int"
SEED_SQL = [
    "INSERT INTO accounts (account_id, first_seen_at, last_event_at, arr, seats, started_at,"
    " renewal_at, segment, score, band, components, reasons, coverage, model_version,"
    " scored_as_of, updated_at)"
    f" SELECT {_ID}, now() - interval '300 days',"
    " now() - (g % 20) * interval '1 hour', (g % 200) * 1000, 5 + g % 50,"
    " now() - interval '300 days', (now() + (g % 365) * interval '1 day')::date,"
    " (ARRAY['enterprise', 'mid_market', 'smb', 'self_serve'])[1 + (g / 7) % 4], s,"
    " CASE WHEN s >= 70 THEN 'green' WHEN s >= 40 THEN 'yellow' ELSE 'red' END,"
    " jsonb_build_object('usage', s, 'adoption', 60, 'support', 80, 'payment', 90,"
    " 'sentiment', null), '[\"Usage down 30% against its 4-week baseline\"]'::jsonb, 0.9,"
    " 'v1', now() - interval '1 hour', now()"
    f" FROM generate_series(1, :n) g, LATERAL (SELECT {SCORE} AS s) x",
    "INSERT INTO trigger_accounts (account_id, segment, first_seen_at, as_of, health_event_id,"
    " score, band, components, facts, renewal_at, started_at, health_revision)"
    " SELECT account_id, segment, first_seen_at, scored_as_of, account_id || '-h', score, band,"
    " components, jsonb_build_object('arr', arr, 'seats', seats), renewal_at, started_at, 1"
    " FROM accounts",
    # the history of the others would only fill the disk: the pages read one account's
    "INSERT INTO score_history (account_id, score, band, components, reasons, coverage,"
    " model_version, as_of, event_id, segment)"
    " SELECT a.account_id, greatest(0, least(100, a.score + (d % 7) * 3 - 9)), a.band,"
    " a.components, a.reasons, 0.9, 'v1', now() - d * interval '3 days',"
    " a.account_id || '-' || d, a.segment"
    f" FROM accounts a, generate_series(0, {HISTORY_POINTS - 1}) d"
    f" WHERE {_NUMBER} % {HISTORY_EVERY} = 1",
    # outcomes after the first 60 days of that history: the red ones churned
    "INSERT INTO outcomes (account_id, kind, outcome_date, source)"
    " SELECT account_id, CASE WHEN band = 'red' OR score < 48 THEN 'churn' ELSE 'renewal' END,"
    " (now() - interval '20 days')::date, 'bench' FROM accounts a"
    f" WHERE {_NUMBER} % {OUTCOME_EVERY} = 1",
    "INSERT INTO playbook_episodes (account_id, playbook, episode_id, opened_at, due_by,"
    " reason, closed_at, status, segment, resolution, acknowledged_at, lifecycle_closed_at)"
    " SELECT a.account_id, p.playbook, a.account_id || '-' || p.playbook,"
    " now() - interval '60 days', now() - interval '57 days', 'score fell to red',"
    " now() - interval '40 days', p.status, a.segment, p.resolution,"
    " now() - interval '59 days', now() - interval '40 days'"
    " FROM accounts a, (VALUES ('red_save', 'closed', 'actioned'),"
    " ('usage_drop', 'resolved', NULL)) p(playbook, status, resolution)"
    f" WHERE {_NUMBER} % {HISTORY_EVERY} = 1",
    "INSERT INTO playbook_episodes (account_id, playbook, episode_id, opened_at, due_by,"
    " reason, status, segment)"
    " SELECT account_id, 'red_save', account_id || '-open', scored_as_of,"
    " scored_as_of + (right(account_id, 3)::int % 72) * interval '1 hour',"
    " 'score fell to red', 'open', segment FROM accounts WHERE band = 'red'",
    "VACUUM ANALYZE",
]


async def seed_accounts(database_url: str, accounts: int) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        for sql in SEED_SQL:
            if sql.startswith("VACUUM"):  # outside a transaction
                async with engine.connect() as conn:
                    auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await auto.execute(text(sql))
                continue
            async with engine.begin() as conn:
                await conn.execute(text(sql), {"n": accounts} if ":n" in sql else {})
    finally:
        await engine.dispose()
