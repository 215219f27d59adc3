"""An index of the open webhook deliveries only, in per-account order.

Leasing a delivery checks that no earlier one of its (subscription, account)
is still open (``claim_due``'s ``NOT EXISTS``). The planner answered that
through ``webhook_deliveries_due``, walking every open delivery for each
candidate: O(open²) per lease (41 ms with 400 open behind 1M delivered; with
this index, one lookup per candidate, 2-3 ms). The index holds only the
pending and in-flight ones, so delivered history never slows it.

Revision ID: 0009_open_deliveries
Revises: 0008_applied_events_index
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0009_open_deliveries"
down_revision = "0008_applied_events_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_open_order"
        " ON webhook_deliveries (subscription_id, account_id, seq)"
        " WHERE status IN ('pending', 'in_flight')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS webhook_deliveries_open_order")
