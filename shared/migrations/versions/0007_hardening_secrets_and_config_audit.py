"""Webhook secrets encrypted at rest; who changed each config version.

Encrypts every plain ``secret`` / ``previous_secret`` of ``webhook_subscriptions``
with the first key of ``VIGIL_SECRETS_KEY`` (the triggers service reads them with
the same key). A database with plain secrets and no key set refuses to migrate.

Revision ID: 0005_hardening
Revises: 0005_poison
Create Date: 2026-11-24
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet

revision = "0005_hardening"
down_revision = "0005_poison"
branch_labels = None
depends_on = None

PREFIX = "fernet:"  # as services/triggers/webhooks/secrets.py


def _fernet() -> Fernet:
    keys = [k.strip() for k in os.environ.get("VIGIL_SECRETS_KEY", "").split(",") if k.strip()]
    if not keys:
        raise RuntimeError(
            "webhook secrets are stored in plain text: set VIGIL_SECRETS_KEY (a Fernet key)"
            " to encrypt them during this migration"
        )
    return Fernet(keys[0].encode())


def upgrade() -> None:
    for table in ("scoring_config", "playbook_config"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN changed_by text")
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, secret, previous_secret FROM webhook_subscriptions"
            " WHERE secret NOT LIKE 'fernet:%'"
            " OR (previous_secret IS NOT NULL AND previous_secret NOT LIKE 'fernet:%')"
        )
    ).all()
    if not rows:
        return
    fernet = _fernet()

    def seal(value: str | None) -> str | None:
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + fernet.encrypt(value.encode()).decode()

    for row in rows:
        bind.execute(
            sa.text(
                "UPDATE webhook_subscriptions SET secret = :s, previous_secret = :p WHERE id = :id"
            ),
            {"id": row.id, "s": seal(row.secret), "p": seal(row.previous_secret)},
        )


def downgrade() -> None:
    for table in ("scoring_config", "playbook_config"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS changed_by")
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, secret, previous_secret FROM webhook_subscriptions")
    ).all()
    if not rows:
        return
    fernet = _fernet()

    def unseal(value: str | None) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        return fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()

    for row in rows:
        bind.execute(
            sa.text(
                "UPDATE webhook_subscriptions SET secret = :s, previous_secret = :p WHERE id = :id"
            ),
            {"id": row.id, "s": unseal(row.secret), "p": unseal(row.previous_secret)},
        )
