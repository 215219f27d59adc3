"""Episode operations the routes and the clock call; the caller owns the transaction.

A lifecycle change is stored with who and when, published on ``playbook.events``
(through the outbox) and offered to the webhook subscribers of its type, all in
the caller's transaction: a change is never announced without being stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers import episode_repository as repo
from services.triggers.domain.episodes import NAMESPACE
from services.triggers.domain.lifecycle import Request, decide, shown_status
from services.triggers.handler import outbox_row, playbook_webhook
from services.triggers.webhooks.repository import enqueue
from shared.consumer.outbox import add_to_outbox
from shared.contracts import PlaybookEvent
from shared.errors import NotFound

SYSTEM = "vigil"  # who, for what the rules and the clock do


@dataclass(frozen=True)
class Entry:
    """One line of an episode's history."""

    at: datetime
    action: str
    by: str
    detail: dict[str, Any]


async def act(
    session: AsyncSession, episode_id: str, request: Request, *, by: str, now: datetime, topic: str
) -> Any:
    """Apply ``request`` to the episode; returns its row after the change."""
    row = await repo.get_episode(session, episode_id, for_update=True)
    if row is None:
        raise NotFound(f"no episode {episode_id}")
    change = decide(row.status, row.closed_at, request, now)
    await repo.apply_change(session, row, change, by=by, at=now)
    event = _event(row, change.kind, now, str(uuid.uuid4()), by=by)
    event = event.model_copy(
        update={
            "owner": change.owner,
            "snoozed_until": change.snoozed_until,
            "resolution": change.resolution,
            "note": change.note,
        }
    )
    await _announce(session, [event], topic, now)
    return await repo.get_episode(session, episode_id)


async def end_snoozes(session: AsyncSession, now: datetime, topic: str, wall_now: datetime) -> int:
    """Snoozed episodes whose time has come (``now``, the clock pass's time) are open
    again, and say so; their webhooks are due at ``wall_now``."""
    rows = await repo.end_snoozes(session, now)
    events = []
    for row in rows:
        if row.closed_at is not None:
            continue  # its condition cleared meanwhile: shown resolved, nothing reappears
        detail = {"until": row.was_snoozed_until.isoformat()}
        await repo.add_history(
            session, row.account_id, row.episode_id, now, "snooze_ended", SYSTEM, detail
        )
        # deterministic: the same snooze ends once, whichever pass sees it
        eid = str(uuid.uuid5(NAMESPACE, f"{row.episode_id}|snooze_ended|{detail['until']}"))
        events.append(_event(row, "snooze_ended", now, eid, by=SYSTEM))
    await _announce(session, events, topic, wall_now)
    return len(events)


def _event(row: Any, kind: str, at: datetime, event_id: str, *, by: str) -> PlaybookEvent:
    health = row.health or {}
    return PlaybookEvent(
        event_id=event_id,
        kind=kind,
        account_id=row.account_id,
        playbook=row.playbook,
        episode_id=row.episode_id,
        at=at,
        due_by=row.due_by,
        reason=row.reason,
        segment=row.segment,
        health={
            "score": health.get("score", 0.0),
            "band": health.get("band", "red"),
            "components": health.get("components") or {},
        },
        by=by,
    )


async def _announce(
    session: AsyncSession, events: Sequence[PlaybookEvent], topic: str, now: datetime
) -> None:
    await add_to_outbox(session, [outbox_row(e, topic) for e in events])
    await enqueue(session, [playbook_webhook(e, now) for e in events], now)


async def history_of(session: AsyncSession, row: Any) -> list[Entry]:
    """What the rules did (held back, opened, resolved or superseded) and every lifecycle
    change, in the order they were stored (a clock pass may run at another time than the
    wall clock's)."""
    entries: list[Entry] = []
    if row.held_back_reason:
        entries.append(Entry(row.opened_at, "held_back", SYSTEM, {"why": row.held_back_reason}))
    if row.status != "held_back":
        entries.append(Entry(row.opened_at, "opened", SYSTEM, {"reason": row.reason}))
    for h in await repo.history(session, row.account_id, row.episode_id):
        entries.append(Entry(h.at, h.action, h.by, dict(h.detail or {})))
    superseded = any(e.action == "superseded" for e in entries)
    if row.status != "held_back" and row.closed_at is not None and not superseded:
        resolved = Entry(row.closed_at, "resolved", SYSTEM, {})
        later = next((i for i, e in enumerate(entries) if e.at > resolved.at), len(entries))
        entries.insert(later, resolved)
    return entries


def status_of(row: Any) -> str:
    return shown_status(row.status, None if row.status == "held_back" else row.closed_at)
