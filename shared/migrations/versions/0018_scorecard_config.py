"""The live scorecard: versioned like the scoring and playbook configs.

Each row is a version ``{"scorecard": <document> | null}``; the highest in force.
``null`` (the row stored on first start) means the built-in model scores.

Revision ID: 0018_scorecard
Revises: 0017_rollups
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018_scorecard"
down_revision = "0017_rollups"  # chained after the rollups so one branch holds both
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE scorecard_config ("
        " version integer PRIMARY KEY,"
        " config jsonb NOT NULL,"
        " changed_by text,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        # the replica that re-scores every account for this version claims it here
        " rescore_claimed_at timestamptz)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE scorecard_config")
