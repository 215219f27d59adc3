"""Per-account daily rollups and users' active days: what a measure defined later reads.

``daily_activity`` holds one (events, quantity) pair per account and day, and
``account_users`` each user's latest use: a measure that filters by usage type or
feature, or counts the users of one type, cannot be computed from them, and a
scorecard that adds such a measure would have nothing to read until new events
arrive. ``rollups`` keeps that history, one row per account and event-time UTC
day, for the rollup retention (``VIGIL_ROLLUP_RETENTION_DAYS``):

- ``counts``: ``"source<TAB>type<TAB>feature<TAB>detail" -> [events, quantity]``;
  feature is a usage event's feature, detail a ticket event's severity ("" when
  none); quantity sums usage quantity, ticket satisfaction, payment amount or
  survey score. Types and features are canonical names and the rest closed
  lists: none holds a tab.
- ``users``: ``"usage type<TAB>user id" -> 1``, the users active that day.

Both are JSON objects stored as text. One row a day, not one per key: replaying
a backlog of a few events per account and day, rows per key cost four times the
rest of the batch's writes. As text, not jsonb: parsing jsonb on every insert
cost as much again as the row itself, and a day is parsed only when a batch
merges into a stored one (a conflict), by summing the counts (``rollups_add``:
each key's two values added, so the order batches arrive in does not matter)
and uniting the users (jsonb ``||``).

Written in the transaction that folds the signals; read only for a scorecard
whose measures need them; pruned per account by day (services/scoring/retention.py).

Revision ID: 0017_rollups
Revises: 0016_console
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017_rollups"
down_revision = "0016_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS rollups (
            account_id text NOT NULL,
            day        date NOT NULL,
            counts     text NOT NULL,
            users      text NOT NULL,
            PRIMARY KEY (account_id, day)
        )
        """
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION rollups_add(a jsonb, b jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(jsonb_object_agg(k, jsonb_build_array(e, q)), '{}'::jsonb)
            FROM (
                SELECT k, sum((v ->> 0)::bigint) AS e, sum((v ->> 1)::float8) AS q
                FROM (SELECT * FROM jsonb_each(a) UNION ALL SELECT * FROM jsonb_each(b)) AS s(k, v)
                GROUP BY k
            ) AS t
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS rollups_add(jsonb, jsonb)")
    op.execute("DROP TABLE IF EXISTS rollups")
