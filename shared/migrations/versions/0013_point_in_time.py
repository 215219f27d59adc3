"""What a caught-up partition has read, beside the watermark it stands for.

An idle raw partition's watermark stands for the wall clock; while another
partition reads history (a replay), scoring judges no later than what the idle
one has actually read (``seen``), since the replay may not have written its
share yet. Null: not reported (an older ingest), the watermark is used.

Each playbook track keeps what it was before the evaluation that last changed
it (``stepped_at``, ``before_*``): a health change correcting the one before at
the same time starts from there, so a state that was corrected leaves no trace
in the bookkeeping (a resolve it caused, and its cool-down, do not stand).

Revision ID: 0013_point_in_time
Revises: 0009_open_deliveries
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013_point_in_time"
down_revision = "0009_open_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE source_watermarks ADD COLUMN IF NOT EXISTS seen timestamptz")
    op.execute(
        "ALTER TABLE playbook_tracks"
        " ADD COLUMN IF NOT EXISTS stepped_at timestamptz,"
        " ADD COLUMN IF NOT EXISTS before_condition_since timestamptz,"
        " ADD COLUMN IF NOT EXISTS before_opened_at timestamptz,"
        " ADD COLUMN IF NOT EXISTS before_last_resolved_at timestamptz,"
        " ADD COLUMN IF NOT EXISTS before_clearing_since timestamptz"
    )


def downgrade() -> None:
    for column in (
        "stepped_at",
        "before_condition_since",
        "before_opened_at",
        "before_last_resolved_at",
        "before_clearing_since",
    ):
        op.execute(f"ALTER TABLE playbook_tracks DROP COLUMN IF EXISTS {column}")
    op.execute("ALTER TABLE source_watermarks DROP COLUMN IF EXISTS seen")
