"""Health changes carry a per-account revision; triggers keep the last one applied.

Scoring re-scores late-read events at the same (watermark-clamped) ``as_of``,
so ``as_of`` cannot tell a correction from a replay; a revision that grows by
one per published change can.

Revision ID: 0007_revision
Revises: 0006_playbooks
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0007_revision"
down_revision = "0006_playbooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0: nothing published yet; the first published change is revision 1
    op.execute("ALTER TABLE accounts ADD COLUMN health_revision bigint NOT NULL DEFAULT 0")
    # NULL: applied from a change without a revision (before this migration)
    op.execute("ALTER TABLE trigger_accounts ADD COLUMN health_revision bigint")


def downgrade() -> None:
    op.execute("ALTER TABLE trigger_accounts DROP COLUMN IF EXISTS health_revision")
    op.execute("ALTER TABLE accounts DROP COLUMN IF EXISTS health_revision")
