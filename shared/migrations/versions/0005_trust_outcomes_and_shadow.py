"""Score trust: outcomes, the segment of each stored score, the shadow model.

Revision ID: 0005_trust
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0005_trust"
down_revision = "0004"
branch_labels = None
depends_on = None

STATEMENTS = """
CREATE TABLE outcomes (
    account_id   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('churn', 'renewal')),
    outcome_date date NOT NULL,
    source       text NOT NULL,
    external_id  text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, kind, outcome_date)
);
CREATE UNIQUE INDEX outcomes_external_id ON outcomes (account_id, external_id)
    WHERE external_id IS NOT NULL;

-- the segment a score was computed in, so a replay weighs it as it was
ALTER TABLE score_history ADD COLUMN segment text;

-- a candidate model, scored beside the live one and never published (one active at a time)
CREATE TABLE model_shadow (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config           jsonb NOT NULL,
    model_version    text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    ended_as         text CHECK (ended_as IN ('promoted', 'cleared')),
    promoted_version integer
);
CREATE UNIQUE INDEX model_shadow_one_active ON model_shadow ((true)) WHERE ended_at IS NULL;

CREATE TABLE shadow_scores (
    account_id    text NOT NULL,
    model_version text NOT NULL,
    as_of         timestamptz NOT NULL,
    score         double precision NOT NULL,
    band          text NOT NULL,
    components    jsonb NOT NULL,
    PRIMARY KEY (account_id, model_version)
);
"""


def upgrade() -> None:
    for statement in STATEMENTS.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS shadow_scores")
    op.execute("DROP TABLE IF EXISTS model_shadow")
    op.execute("ALTER TABLE score_history DROP COLUMN IF EXISTS segment")
    op.execute("DROP TABLE IF EXISTS outcomes")
