"""Score overrides (pin a band, adjust the score or a component, with an expiry) and the
record of dead-letter redrives.

``score_overrides`` keeps every override ever made with who made and who removed it
(token role and fingerprint, as config changes are audited). ``score_history`` and
``accounts`` keep what was published in ``score``/``band``; when an override applied,
``model_score``/``model_band`` (and in the history ``model_components``) hold the
model's own and ``overrides`` which overrides made the difference (all NULL when
none): calibration and trends read the model's.
``dlq_redrives`` records each redrive (who, when, which records, outcome); nothing is
ever removed from a dead-letter topic.

Revision ID: 0015_overrides_redrive
Revises: 0014_episode_lifecycle
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015_overrides_redrive"
down_revision = "0014_episode_lifecycle"
branch_labels = None
depends_on = None


STATEMENTS = (
    """CREATE TABLE score_overrides (
    account_id   text NOT NULL,
    override_id  uuid NOT NULL,
    kind         text NOT NULL
                 CHECK (kind IN ('pin_band', 'adjust_score', 'adjust_component')),
    band         text CHECK (band IN ('green', 'yellow', 'red')),
    delta        double precision CHECK (delta BETWEEN -100 AND 100),
    component    text,
    reason       text NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    removed_at   timestamptz,
    removed_by   text,
    PRIMARY KEY (account_id, override_id)
)""",
    "CREATE INDEX score_overrides_live ON score_overrides (account_id, expires_at)"
    " WHERE removed_at IS NULL",
    "ALTER TABLE accounts ADD COLUMN model_score double precision,"
    " ADD COLUMN model_band text, ADD COLUMN overrides jsonb",
    "ALTER TABLE score_history ADD COLUMN model_score double precision,"
    " ADD COLUMN model_band text, ADD COLUMN model_components jsonb, ADD COLUMN overrides jsonb",
    """CREATE TABLE dlq_redrives (
    redrive_id   uuid PRIMARY KEY,
    topic        text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    selector     jsonb NOT NULL,
    dry_run      boolean NOT NULL,
    counts       jsonb NOT NULL,
    records      jsonb NOT NULL
)""",
    "CREATE INDEX dlq_redrives_topic ON dlq_redrives (topic, requested_at)",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for statement in (
        "DROP TABLE IF EXISTS dlq_redrives",
        "DROP TABLE IF EXISTS score_overrides",
        "ALTER TABLE score_history DROP COLUMN IF EXISTS model_score,"
        " DROP COLUMN IF EXISTS model_band, DROP COLUMN IF EXISTS model_components,"
        " DROP COLUMN IF EXISTS overrides",
        "ALTER TABLE accounts DROP COLUMN IF EXISTS model_score,"
        " DROP COLUMN IF EXISTS model_band, DROP COLUMN IF EXISTS overrides",
    ):
        op.execute(statement)
