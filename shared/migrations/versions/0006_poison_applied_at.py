"""applied_events.applied_at: event ids are pruned by when they were applied.

Pruning by ``occurred_at`` would forget the ids of a history import at once
and count a re-delivered old event twice; the wall-clock time of application
is what the retention (``VIGIL_DEDUPE_RETENTION_DAYS``) is about. Existing
rows get the migration time (PostgreSQL 11+ adds a constant default without
rewriting the table).

Revision ID: 0005_poison
Revises: 0005_trust
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0005_poison"
down_revision = "0005_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE applied_events ADD COLUMN applied_at timestamptz NOT NULL DEFAULT now()"
    )
    op.execute("CREATE INDEX applied_events_applied ON applied_events (applied_at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS applied_events_applied")
    op.execute("ALTER TABLE applied_events DROP COLUMN IF EXISTS applied_at")
