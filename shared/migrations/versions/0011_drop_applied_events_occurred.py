"""Drop the index on applied_events.occurred_at: nothing reads by it any more.

Retention prunes event ids by ``applied_at`` (revision 0005_poison, ``applied_events_applied``);
the ``occurred_at`` index only cost one more b-tree insert per applied event on
scoring's hottest statement.

Revision ID: 0008_applied_events_index
Revises: 0007_revision
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008_applied_events_index"
down_revision = "0007_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS applied_events_occurred")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS applied_events_occurred ON applied_events (occurred_at)")
