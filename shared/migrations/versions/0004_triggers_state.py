"""Triggers: account facts, recent scores, playbook episodes, versioned rules config.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE trigger_accounts (
    account_id          text PRIMARY KEY,
    segment             text NOT NULL,
    first_seen_at       timestamptz NOT NULL,
    as_of               timestamptz NOT NULL,
    health_event_id     text NOT NULL,
    score               double precision NOT NULL,
    band                text NOT NULL,
    components          jsonb NOT NULL,
    facts               jsonb NOT NULL,
    renewal_at          date,
    started_at          timestamptz,
    first_value_at      timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trigger_accounts_renewal ON trigger_accounts (renewal_at);

-- the last days of scores, for the score_drop rule
CREATE TABLE trigger_scores (
    account_id text NOT NULL,
    as_of      timestamptz NOT NULL,
    score      double precision NOT NULL,
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE playbook_episodes (
    account_id  text NOT NULL,
    playbook    text NOT NULL,
    episode_id  text NOT NULL,
    opened_at   timestamptz NOT NULL,
    due_by      timestamptz,
    reason      text NOT NULL,
    closed_at   timestamptz,
    PRIMARY KEY (account_id, playbook, episode_id)
);
CREATE UNIQUE INDEX playbook_episodes_open
    ON playbook_episodes (account_id, playbook) WHERE closed_at IS NULL;

CREATE TABLE playbook_config (
    version    integer PRIMARY KEY,
    config     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in ("playbook_config", "playbook_episodes", "trigger_scores", "trigger_accounts"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
