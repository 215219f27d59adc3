"""Join the two 0005 heads (playbooks' tracks and watermarks' event time): no schema change.

Revision ID: 0006_evaluate
Revises: 0005_playbooks, 0005_watermarks
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0006_evaluate"
down_revision = ("0005_playbooks", "0005_watermarks")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: both parents are independent tables."""


def downgrade() -> None:
    """Nothing to undo."""
