"""Standard Webhooks signatures: `whsec_` secrets, `v1,` HMAC-SHA256 of `id.timestamp.body`."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(secrets_in_use: list[str], msg_id: str, at: datetime, body: str) -> str:
    """Space-separated signatures: during a rotation both secrets sign, receivers accept either."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets_in_use)


def headers(secrets_in_use: list[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets_in_use, msg_id, at, body),
        "content-type": "application/json",
        "user-agent": "vigil-webhooks/1",
    }
