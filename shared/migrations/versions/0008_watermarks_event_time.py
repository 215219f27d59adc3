"""Scoring: event-time watermarks per source partition; the facts last published.

``source_watermarks`` holds the latest watermark report ingest made on each
signals partition for each raw partition; it is written in the transaction
that stores the offsets of the signals partition it came from, so a restart
resumes it. ``accounts.published_facts`` holds the playbook facts of the last
published health change, so a change of facts alone is published too.

Revision ID: 0005_watermarks
Revises: 0005_hardening
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0005_watermarks"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None

STATEMENTS = """
CREATE TABLE source_watermarks (
    signals_partition  integer NOT NULL,
    source             text NOT NULL,
    raw_partition      integer NOT NULL,
    raw_partitions     integer NOT NULL,
    signals_partitions integer NOT NULL,
    watermark          timestamptz,
    caught_up          boolean NOT NULL,
    emitted_at         timestamptz NOT NULL,
    PRIMARY KEY (signals_partition, source, raw_partition)
);
ALTER TABLE accounts ADD COLUMN published_facts jsonb;
-- accounts judged before their latest event (held back by a watermark)
CREATE INDEX accounts_held_back ON accounts (account_id)
    WHERE scored_as_of IS NULL OR scored_as_of < last_event_at
"""


def upgrade() -> None:
    for statement in STATEMENTS.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS accounts_held_back")
    op.execute("ALTER TABLE accounts DROP COLUMN IF EXISTS published_facts")
    op.execute("DROP TABLE IF EXISTS source_watermarks")
