"""Per-account daily rollups and per-day user activity: what a measure defined later reads.

``daily_activity`` holds one (events, quantity) pair per account and day, and
``account_users`` each user's latest use: a measure that filters by usage type or
feature, or counts the users of one type, cannot be computed from them, and a
scorecard that adds such a measure would have nothing to read until new events
arrive. These two tables keep the history it needs, for the rollup retention
(``VIGIL_ROLLUP_RETENTION_DAYS``):

- ``rollups``: per account, event-time UTC day, source, type, feature (usage) and
  detail (a ticket event's severity), the number of events and the sum of their
  quantity (usage quantity, ticket satisfaction score, payment amount, survey
  score). A day holds a handful of rows per account.
- ``user_days``: which user was active on which day with which usage type; enough
  for distinct users over any window, filtered by type. Presence only (no count):
  the upsert is ``ON CONFLICT DO NOTHING``.

Both are written in the transaction that folds the signals (set-based upserts,
like every other state table) and pruned per account by day
(services/scoring/retention.py), which the primary keys' leading
(account_id, day) serve.

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
            source     text NOT NULL,
            type       text NOT NULL,
            feature    text NOT NULL,
            detail     text NOT NULL,
            events     bigint NOT NULL,
            quantity   double precision NOT NULL,
            PRIMARY KEY (account_id, day, source, type, feature, detail)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS user_days (
            account_id text NOT NULL,
            day        date NOT NULL,
            type       text NOT NULL,
            user_id    text NOT NULL,
            PRIMARY KEY (account_id, day, type, user_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS user_days")
    op.execute("DROP TABLE IF EXISTS rollups")
