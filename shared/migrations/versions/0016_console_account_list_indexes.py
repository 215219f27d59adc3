"""An index for listing the accounts of one band by score (GET /v1/accounts).

"The red accounts, lowest score first" walked ``accounts_score`` and filtered on
the band: with 200k accounts, 1.0 s for 50 red ones by descending score (183k
rows read and thrown away), 0.6 s for green by score; over a million, seconds.
With the band leading, one index range gives the page in order: under a
millisecond. The other lists stay on the indexes they had: by account id on the
primary key (a band or segment is a few percent of accounts or more, so a page
reads a few pages' worth), band and segment together on ``accounts_band_segment``,
a segment by score on ``accounts_score`` (filtered: a segment is a share of all).
tests/integration/console/test_account_list_plans.py checks each list the console
asks for.

It is one more b-tree insert when a score changes; the score is already indexed,
so no score update was a HOT update before either.

Revision ID: 0016_console
Revises: 0015_overrides_redrive
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016_console"
down_revision = "0015_overrides_redrive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS accounts_band_score ON accounts (band, score, account_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS accounts_band_score")
