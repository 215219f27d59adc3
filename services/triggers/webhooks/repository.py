"""Every SQL statement of the webhook subsystem. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database.engine import unnest


@dataclass(frozen=True)
class WebhookItem:
    """One event to offer to every matching subscription."""

    event_type: str
    event_id: str
    account_id: str
    body: str
    playbook: str | None
    segment: str | None
    band: str | None


SUBSCRIPTION_COLUMNS = (
    "id, url, event_types, filter_playbooks, filter_segments, filter_bands, created_at,"
    " failing_since, disabled_at, disabled_reason, previous_valid_until"
)


async def insert_subscription(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(
        text(
            "INSERT INTO webhook_subscriptions (id, url, event_types, filter_playbooks,"
            " filter_segments, filter_bands, secret, created_at) VALUES (:id, :url,"
            " :event_types, :filter_playbooks, :filter_segments, :filter_bands, :secret, :now)"
        ),
        values,
    )


async def list_subscriptions(session: AsyncSession) -> list[Row[Any]]:
    result = await session.execute(
        text(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions"
            " WHERE deleted_at IS NULL ORDER BY created_at, id"
        )
    )
    return list(result.all())


async def get_subscription(session: AsyncSession, sub_id: str) -> Row[Any] | None:
    result = await session.execute(
        text(
            f"SELECT {SUBSCRIPTION_COLUMNS}, secret, previous_secret FROM webhook_subscriptions"
            " WHERE id = :id AND deleted_at IS NULL"
        ),
        {"id": sub_id},
    )
    return result.first()


async def delete_subscription(session: AsyncSession, sub_id: str, now: datetime) -> bool:
    result = await session.execute(
        text(
            "UPDATE webhook_subscriptions SET deleted_at = :now"
            " WHERE id = :id AND deleted_at IS NULL RETURNING id"
        ),
        {"id": sub_id, "now": now},
    )
    if result.first() is None:
        return False
    await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = 'canceled'"
            " WHERE subscription_id = :id AND status IN ('pending', 'in_flight')"
        ),
        {"id": sub_id},
    )
    return True


async def rotate_secret(
    session: AsyncSession, sub_id: str, secret: str, previous_valid_until: datetime
) -> bool:
    result = await session.execute(
        text(
            "UPDATE webhook_subscriptions SET previous_secret = secret, secret = :secret,"
            " previous_valid_until = :until WHERE id = :id AND deleted_at IS NULL RETURNING id"
        ),
        {"id": sub_id, "secret": secret, "until": previous_valid_until},
    )
    return result.first() is not None


async def enqueue(session: AsyncSession, items: Sequence[WebhookItem], now: datetime) -> int:
    """One delivery per (item, matching active subscription); ids are deterministic."""
    if not items:
        return 0
    rows, params = unnest(
        t=("text", [i.event_type for i in items]),
        e=("text", [i.event_id for i in items]),
        a=("text", [i.account_id for i in items]),
        b=("text", [i.body for i in items]),
        p=("text", [i.playbook for i in items]),
        seg=("text", [i.segment for i in items]),
        band=("text", [i.band for i in items]),
    )
    result = await session.execute(
        text(
            "INSERT INTO webhook_deliveries (account_id, id, subscription_id, event_type,"
            " event_id, body, status, next_attempt_at, created_at)"
            " SELECT i.account_id, 'msg_' || md5(i.event_id || '|' || s.id), s.id, i.event_type,"
            " i.event_id, i.body, 'pending', :now, :now"
            f" FROM {rows}"
            " WITH ORDINALITY AS i(event_type, event_id, account_id, body, playbook, segment,"
            " band, n)"
            " JOIN webhook_subscriptions s ON i.event_type = ANY(s.event_types)"
            " AND s.deleted_at IS NULL AND s.disabled_at IS NULL"
            " AND (s.filter_playbooks IS NULL OR i.playbook = ANY(s.filter_playbooks))"
            " AND (s.filter_segments IS NULL OR i.segment = ANY(s.filter_segments))"
            " AND (s.filter_bands IS NULL OR i.band = ANY(s.filter_bands))"
            " ORDER BY i.n, s.id ON CONFLICT DO NOTHING RETURNING id"
        ),
        {"now": now, **params},
    )
    return len(result.all())


async def claim_due(
    session: AsyncSession,
    now: datetime,
    lease_until: datetime,
    limit: int,
    *,
    per_subscription: int,
    busy: Sequence[str] = (),
) -> list[Row[Any]]:
    """Lease due deliveries first in line for their (subscription, account).

    At most ``per_subscription`` per subscription, none for the ``busy`` ones (their
    previous batch is still in flight), so every leased batch is sent at once.
    """
    result = await session.execute(
        text(
            "WITH candidates AS ("
            " SELECT d.account_id, d.id, d.seq, d.subscription_id FROM webhook_deliveries d"
            " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
            " WHERE (d.status = 'pending' OR (d.status = 'in_flight' AND d.lease_until < :now))"
            " AND d.next_attempt_at <= :now AND s.disabled_at IS NULL AND s.deleted_at IS NULL"
            " AND NOT (d.subscription_id = ANY(CAST(:busy AS text[])))"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e"
            "   WHERE e.subscription_id = d.subscription_id AND e.account_id = d.account_id"
            "   AND e.status IN ('pending', 'in_flight') AND e.seq < d.seq)"
            " ORDER BY d.seq LIMIT :limit FOR UPDATE OF d SKIP LOCKED),"
            " due AS (SELECT account_id, id FROM (SELECT c.account_id, c.id, row_number()"
            "   OVER (PARTITION BY c.subscription_id ORDER BY c.seq) AS n FROM candidates c) r"
            "   WHERE r.n <= :per_sub)"
            " UPDATE webhook_deliveries d SET status = 'in_flight', lease_until = :lease,"
            " attempts = d.attempts + 1, total_attempts = d.total_attempts + 1"
            " FROM due, webhook_subscriptions s"
            " WHERE d.account_id = due.account_id AND d.id = due.id AND s.id = d.subscription_id"
            " RETURNING d.account_id, d.id, d.seq, d.subscription_id, d.event_type, d.body,"
            " d.attempts, d.total_attempts, s.url, s.secret, s.previous_secret,"
            " s.previous_valid_until"
        ),
        {
            "now": now,
            "lease": lease_until,
            "limit": limit,
            "per_sub": per_subscription,
            "busy": list(busy),
        },
    )
    return sorted(result.all(), key=lambda r: r.seq)


async def clear_expired_secrets(session: AsyncSession, now: datetime) -> int:
    """Forget previous secrets whose rotation grace is over."""
    result = await session.execute(
        text(
            "UPDATE webhook_subscriptions SET previous_secret = NULL, previous_valid_until = NULL"
            " WHERE previous_secret IS NOT NULL AND previous_valid_until <= :now RETURNING id"
        ),
        {"now": now},
    )
    return len(result.all())


async def record_attempts(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Log attempts (one executemany for a delivery round)."""
    await session.execute(
        text(
            "INSERT INTO webhook_attempts (account_id, delivery_id, attempt, at, status_code,"
            " latency_ms, error) VALUES (:account_id, :delivery_id, :attempt, :at, :status_code,"
            " :latency_ms, :error) ON CONFLICT DO NOTHING"
        ),
        values,
    )


async def finish_deliveries(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Set deliveries' status after an attempt (delivered, pending again, failed)."""
    await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = :status, next_attempt_at = :next_at,"
            " lease_until = NULL, last_status = :status_code, last_error = :error,"
            " delivered_at = CASE WHEN :status = 'delivered' THEN CAST(:at AS timestamptz) END"
            " WHERE account_id = :account_id AND id = :delivery_id"
        ),
        values,
    )


async def mark_endpoint(
    session: AsyncSession, sub_id: str, *, ok: bool, now: datetime, disable_after_s: float
) -> str | None:
    """Track continuous failure; returns the disable reason when this disables the endpoint."""
    if ok:
        # only a failing endpoint's row is written: every successful round rewrote it
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET failing_since = NULL"
                " WHERE id = :id AND failing_since IS NOT NULL"
            ),
            {"id": sub_id},
        )
        return None
    result = await session.execute(
        text(
            "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, :now)"
            " WHERE id = :id RETURNING failing_since"
        ),
        {"id": sub_id, "now": now},
    )
    since = result.scalar_one_or_none()
    if since is None or (now - since).total_seconds() < disable_after_s:
        return None
    reason = f"failing continuously since {since.isoformat()}"
    await disable(session, sub_id, reason, now)
    return reason


async def disable(session: AsyncSession, sub_id: str, reason: str, now: datetime) -> None:
    await session.execute(
        text(
            "UPDATE webhook_subscriptions SET disabled_at = :now, disabled_reason = :reason"
            " WHERE id = :id AND disabled_at IS NULL"
        ),
        {"id": sub_id, "now": now, "reason": reason},
    )


async def list_deliveries(
    session: AsyncSession, sub_id: str, status: str | None, limit: int
) -> list[Row[Any]]:
    result = await session.execute(
        text(
            "SELECT d.account_id, d.id, d.event_type, d.event_id, d.status, d.attempts,"
            " d.created_at, d.delivered_at, d.next_attempt_at, d.last_status, d.last_error,"
            " coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at,"
            "   'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error)"
            "   ORDER BY a.attempt) FROM webhook_attempts a"
            "   WHERE a.account_id = d.account_id AND a.delivery_id = d.id), '[]') AS log"
            " FROM webhook_deliveries d WHERE d.subscription_id = :id"
            " AND (CAST(:status AS text) IS NULL OR d.status = :status)"
            " ORDER BY d.seq LIMIT :limit"
        ),
        {"id": sub_id, "status": status, "limit": limit},
    )
    return list(result.all())


async def replay(
    session: AsyncSession,
    now: datetime,
    *,
    delivery_id: str | None = None,
    sub_id: str | None = None,
    failed_since: datetime | None = None,
) -> int:
    """Put one delivery, or a subscription's failed ones since a time, back in the queue."""
    result = await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = :now,"
            " lease_until = NULL, attempts = 0"
            " WHERE ((CAST(:did AS text) IS NOT NULL AND id = :did) OR"
            " (CAST(:sid AS text) IS NOT NULL AND subscription_id = :sid AND status = 'failed'"
            "  AND created_at >= COALESCE(CAST(:since AS timestamptz), '-infinity')))"
            " AND status <> 'in_flight' RETURNING id"
        ),
        {"now": now, "did": delivery_id, "sid": sub_id, "since": failed_since},
    )
    return len(result.all())


async def retry_backlog(session: AsyncSession) -> tuple[int, int]:
    """(pending deliveries that failed at least once, disabled endpoints)."""
    backlog = await session.scalar(
        text("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0")
    )
    disabled = await session.scalar(
        text(
            "SELECT count(*) FROM webhook_subscriptions"
            " WHERE disabled_at IS NOT NULL AND deleted_at IS NULL"
        )
    )
    return int(backlog or 0), int(disabled or 0)


async def stored_secrets(session: AsyncSession) -> list[Any]:
    """Every subscription's encrypted secrets (deleted ones too), locked until the commit."""
    result = await session.execute(
        text("SELECT id, secret, previous_secret FROM webhook_subscriptions ORDER BY id FOR UPDATE")
    )
    return list(result.all())


async def store_secrets(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Replace encrypted secrets in place: ``id``, ``secret``, ``previous_secret`` per row."""
    if rows:
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET secret = :secret,"
                " previous_secret = :previous_secret WHERE id = :id"
            ),
            rows,
        )
