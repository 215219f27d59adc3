"""Consumer offsets stored with the state, and the transactional outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Offsets live in PostgreSQL, written in the same transaction as the state
    # they produced, so a crash can neither lose nor double-count an event.
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    # Messages to publish, written in the producing transaction and relayed to
    # Kafka afterwards; ``id`` orders an account's messages.
    op.create_table(
        "outbox",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("outbox_by_id", "outbox", ["id"])


def downgrade() -> None:
    op.drop_index("outbox_by_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("consumer_offsets")
