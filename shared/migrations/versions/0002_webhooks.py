"""Webhook subscriptions, deliveries and the log of every attempt.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE webhook_subscriptions (
    id                  text PRIMARY KEY,
    url                 text NOT NULL,
    event_types         text[] NOT NULL,
    filter_playbooks    text[],
    filter_segments     text[],
    filter_bands        text[],
    secret              text NOT NULL,
    previous_secret     text,
    previous_valid_until timestamptz,
    created_at          timestamptz NOT NULL,
    failing_since       timestamptz,
    disabled_at         timestamptz,
    disabled_reason     text,
    deleted_at          timestamptz
);

CREATE TABLE webhook_deliveries (
    account_id      text NOT NULL,
    id              text NOT NULL,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    subscription_id text NOT NULL REFERENCES webhook_subscriptions (id),
    event_type      text NOT NULL,
    event_id        text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,   -- since the last replay: drives the schedule
    total_attempts  integer NOT NULL DEFAULT 0,   -- ever: numbers the attempt log
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    last_status     integer,
    last_error      text,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq)
    WHERE status IN ('pending', 'in_flight');
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, account_id, seq);
CREATE INDEX webhook_deliveries_by_subscription
    ON webhook_deliveries (subscription_id, status, seq);

CREATE TABLE webhook_attempts (
    account_id  text NOT NULL,
    delivery_id text NOT NULL,
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL,
    status_code integer,
    latency_ms  double precision NOT NULL,
    error       text,
    PRIMARY KEY (account_id, delivery_id, attempt)
);
"""


def upgrade() -> None:
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_subscriptions"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
