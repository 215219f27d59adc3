"""Webhook operations the routes call; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.webhooks import repository as repo
from services.triggers.webhooks.config import WebhookSettings
from services.triggers.webhooks.dns import AsyncResolver, checked_address
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.signing import new_secret
from services.triggers.webhooks.url_policy import UrlRefused
from shared.errors import InvalidInput, NotFound

EventType = Literal[
    "playbook.triggered",
    "playbook.resolved",
    "health.changed",
    # an episode's lifecycle, by a person or a tool (and the clock, at a snooze's end)
    "playbook.acknowledged",
    "playbook.assigned",
    "playbook.snoozed",
    "playbook.snooze_ended",
    "playbook.closed",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


@dataclass(frozen=True)
class NewSubscription:
    url: str
    event_types: Sequence[str]
    playbooks: Sequence[str] | None = None
    segments: Sequence[str] | None = None
    bands: Sequence[str] | None = None


def webhook_body(event_type: str, payload: dict[str, Any], at: datetime) -> str:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return orjson.dumps({"type": event_type, "timestamp": at.isoformat(), "data": payload}).decode()


async def create_subscription(
    session: AsyncSession,
    new: NewSubscription,
    settings: WebhookSettings,
    box: SecretBox,
    *,
    now: datetime,
    lookup: AsyncResolver,
) -> tuple[str, str]:
    """Validate and store; returns (id, secret). The secret is shown this once."""
    unknown = set(new.event_types) - set(EVENT_TYPES)
    if not new.event_types or unknown:
        raise InvalidInput(f"event_types must be among {', '.join(EVENT_TYPES)}")
    try:
        await checked_address(
            new.url, allow_http=settings.allow_http, allowlist=settings.allowlist, lookup=lookup
        )
    except UrlRefused as refused:  # its message never names the address (a DNS oracle)
        raise InvalidInput(f"url refused: {refused}") from None
    sub_id = f"sub_{uuid.uuid4().hex}"
    secret = new_secret()
    await repo.insert_subscription(
        session,
        {
            "id": sub_id,
            "url": new.url,
            "event_types": list(new.event_types),
            "filter_playbooks": _maybe(new.playbooks),
            "filter_segments": _maybe(new.segments),
            "filter_bands": _maybe(new.bands),
            "secret": box.seal(secret),
            "now": now,
        },
    )
    return sub_id, secret


def _maybe(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values else None


async def rotate(
    session: AsyncSession, sub_id: str, settings: WebhookSettings, box: SecretBox, *, now: datetime
) -> tuple[str, datetime]:
    secret = new_secret()
    until = now + timedelta(seconds=settings.rotation_grace_s)
    if not await repo.rotate_secret(session, sub_id, box.seal(secret), until):
        raise NotFound(f"no subscription {sub_id}")
    return secret, until


def secrets_in_use(row: Any, now: datetime, box: SecretBox) -> list[str]:
    """The current secret, plus the previous one during its grace period (decrypted)."""
    in_use = [box.open(row.secret)]
    if row.previous_secret and row.previous_valid_until and row.previous_valid_until > now:
        in_use.append(box.open(row.previous_secret))
    return in_use
