"""The live scorecard's table, as triggers reads it for its custom playbooks.

Scoring stores each applied scorecard as a version here (the shape of the other
config tables: version, config, who, when); triggers reads the newest row's
``playbooks``. ``IF NOT EXISTS``: the scorecard's own API may create the table
in a migration of its own, with this same shape.

Revision ID: 0021_scorecard_config
Revises: 0016_console
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0021_scorecard_config"
down_revision = "0016_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE IF NOT EXISTS scorecard_config ("
        " version integer PRIMARY KEY,"
        " config jsonb NOT NULL,"
        " changed_by text,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS scorecard_config")
