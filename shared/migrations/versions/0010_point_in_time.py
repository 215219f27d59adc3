"""What a caught-up partition has read, beside the watermark it stands for.

An idle raw partition's watermark stands for the wall clock; while another
partition reads history (a replay), scoring judges no later than what the idle
one has actually read (``seen``), since the replay may not have written its
share yet. Null: not reported (an older ingest), the watermark is used.

Revision ID: 0010_point_in_time
Revises: 0009_open_deliveries
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010_point_in_time"
down_revision = "0009_open_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE source_watermarks ADD COLUMN IF NOT EXISTS seen timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE source_watermarks DROP COLUMN IF EXISTS seen")
