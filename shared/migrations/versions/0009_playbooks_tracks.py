"""Triggers: per account and playbook, the rule bookkeeping that dwell and cool-down need.

Revision ID: 0006_playbooks
Revises: 0005_watermarks
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0006_playbooks"
down_revision = "0005_watermarks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # kept in event time, whether or not an episode was emitted (history is held back)
    op.execute(
        """
        CREATE TABLE playbook_tracks (
            account_id        text NOT NULL,
            playbook          text NOT NULL,
            condition_since   timestamptz,
            opened_at         timestamptz,
            last_resolved_at  timestamptz,
            clearing_since    timestamptz,
            PRIMARY KEY (account_id, playbook)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS playbook_tracks")
