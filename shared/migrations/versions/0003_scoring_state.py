"""Scoring: rolling per-account state, score history, versioned model config.

Every table leads its primary key with ``account_id`` so the schema can be
distributed by account without change.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE accounts (
    account_id       text PRIMARY KEY,
    first_seen_at    timestamptz NOT NULL,
    last_event_at    timestamptz NOT NULL,
    subscription_at  timestamptz,
    arr              numeric,
    seats            integer,
    plan             text,
    currency         text,
    started_at       timestamptz,
    renewal_at       date,
    canceled_at      timestamptz,
    last_downgrade_at timestamptz,
    first_value_at   timestamptz,
    segment          text,
    score            double precision,
    band             text,
    components       jsonb,
    reasons          jsonb,
    coverage         double precision,
    model_version    text,
    scored_as_of     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_band_segment ON accounts (band, segment, account_id);
CREATE INDEX accounts_score ON accounts (score, account_id);

-- idempotency: an event id is applied once, pruned by the clock after the retention
CREATE TABLE applied_events (
    account_id  text NOT NULL,
    event_id    text NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, event_id)
);
CREATE INDEX applied_events_occurred ON applied_events (occurred_at);

CREATE TABLE daily_activity (
    account_id text NOT NULL,
    day        date NOT NULL,
    events     bigint NOT NULL,
    quantity   double precision NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE account_users (
    account_id   text NOT NULL,
    user_id      text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

CREATE TABLE account_features (
    account_id    text NOT NULL,
    feature       text NOT NULL,
    first_used_at timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    uses          bigint NOT NULL,
    PRIMARY KEY (account_id, feature)
);

CREATE TABLE tickets (
    account_id   text NOT NULL,
    ticket_id    text NOT NULL,
    status       text NOT NULL,
    severity     text,
    severity_at  timestamptz,
    opened_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    reopen_count integer NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, ticket_id)
);

CREATE TABLE invoices (
    account_id  text NOT NULL,
    invoice_id  text NOT NULL,
    status      text NOT NULL,
    amount      numeric,
    due_at      timestamptz,
    overdue_at  timestamptz,
    paid_at     timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, invoice_id)
);

CREATE TABLE payment_failures (
    account_id text NOT NULL,
    event_id   text NOT NULL,
    failed_at  timestamptz NOT NULL,
    invoice_id text,
    PRIMARY KEY (account_id, event_id)
);

CREATE TABLE responses (
    account_id text NOT NULL,
    event_id   text NOT NULL,
    kind       text NOT NULL,
    score      integer NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (account_id, event_id)
);

CREATE TABLE score_history (
    account_id    text NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    as_of         timestamptz NOT NULL,
    score         double precision NOT NULL,
    band          text NOT NULL,
    components    jsonb NOT NULL,
    reasons       jsonb NOT NULL,
    coverage      double precision NOT NULL,
    model_version text NOT NULL,
    event_id      text NOT NULL,
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX score_history_as_of ON score_history (account_id, as_of);

CREATE TABLE scoring_config (
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
    for table in (
        "scoring_config",
        "score_history",
        "responses",
        "payment_failures",
        "invoices",
        "tickets",
        "account_features",
        "account_users",
        "daily_activity",
        "applied_events",
        "accounts",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
