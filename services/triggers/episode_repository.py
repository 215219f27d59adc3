"""Every SQL statement of the episode resource: list, read, lifecycle, feedback. Never commits.

The list pages by keyset, never by offset: the queue of open episodes by
``(due_by, episode_id)`` (no due time sorts last), everything else by
``(opened_at, episode_id)`` descending; each order has its index (0013).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers import episode_cursor as page_cursor
from services.triggers.domain.episodes import Transition
from services.triggers.domain.feedback import Durations, Feedback
from services.triggers.domain.lifecycle import Change
from shared.database.engine import unnest

ListStatus = Literal["open", "resolved", "closed", "held_back"]
_STATUS_WHERE: dict[str, str] = {
    "open": "e.closed_at IS NULL AND e.status IN ('open', 'acknowledged')",
    "resolved": "e.closed_at IS NOT NULL AND e.status NOT IN ('closed', 'held_back')",
    "closed": "e.status = 'closed'",
    "held_back": "e.status = 'held_back'",
}
_QUEUE_KEY = "COALESCE(e.due_by, 'infinity'::timestamptz)"
COLUMNS = (
    "e.account_id, e.playbook, e.episode_id, e.opened_at, e.due_by, e.reason, e.closed_at,"
    " e.status, COALESCE(e.segment, a.segment) AS segment, COALESCE(e.health,"
    " jsonb_build_object('score', a.score, 'band', a.band, 'components', a.components))"
    " AS health, e.owner, e.snoozed_until, e.resolution, e.note, e.acknowledged_at,"
    " e.lifecycle_closed_at, e.held_back_reason"
)
FROM = "playbook_episodes e LEFT JOIN trigger_accounts a ON a.account_id = e.account_id"


@dataclass(frozen=True)
class EpisodeFilter:
    status: ListStatus | None = None
    playbook: str | None = None
    segment: str | None = None
    account_id: str | None = None
    opened_since: datetime | None = None

    @property
    def queue(self) -> bool:
        """Open episodes are a queue: soonest due first."""
        return self.status == "open"


def _cursor(queue: bool, row: Any) -> str:
    return page_cursor.encode(row.due_by if queue else row.opened_at, row.episode_id)


def _position(cursor: str) -> tuple[str, str]:
    at, episode_id = page_cursor.decode(cursor)
    return ("infinity" if at is None else at.isoformat()), episode_id


async def list_episodes(
    session: AsyncSession, where: EpisodeFilter, limit: int, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
    """One page and the cursor of the next (``None``: the last page)."""
    clauses, values = _filters(where)
    if where.queue:
        order = f"{_QUEUE_KEY}, e.episode_id"
        after = f"({_QUEUE_KEY}, e.episode_id) > (CAST(CAST(:k AS text) AS timestamptz), :after_id)"
    else:
        order = "e.opened_at DESC, e.episode_id DESC"
        after = "(e.opened_at, e.episode_id) < (CAST(CAST(:k AS text) AS timestamptz), :after_id)"
    if cursor is not None:
        values["k"], values["after_id"] = _position(cursor)
        clauses.append(after)
    sql = f"SELECT {COLUMNS} FROM {FROM}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = list(
        await session.execute(text(f"{sql} ORDER BY {order} LIMIT :n"), values | {"n": limit + 1})
    )
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], _cursor(where.queue, rows[limit - 1])


def _filters(where: EpisodeFilter) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if where.status is not None:
        clauses.append(_STATUS_WHERE[where.status])
    for column in ("playbook", "segment", "account_id"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"e.{column} = :{column}")
            values[column] = value
    if where.opened_since is not None:
        clauses.append("e.opened_at >= :since")
        values["since"] = where.opened_since
    return clauses, values


async def get_episode(
    session: AsyncSession, episode_id: str, *, for_update: bool = False
) -> Row[Any] | None:
    lock = " FOR UPDATE OF e" if for_update else ""
    result = await session.execute(
        text(f"SELECT {COLUMNS} FROM {FROM} WHERE e.episode_id = :id{lock}"), {"id": episode_id}
    )
    return result.first()


async def history(session: AsyncSession, account_id: str, episode_id: str) -> list[Row[Any]]:
    result = await session.execute(
        text(
            "SELECT at, action, by, detail FROM playbook_episode_history"
            " WHERE account_id = :a AND episode_id = :e ORDER BY seq"
        ),
        {"a": account_id, "e": episode_id},
    )
    return list(result)


async def apply_change(
    session: AsyncSession, row: Any, change: Change, *, by: str, at: datetime
) -> None:
    """Store a lifecycle change and its history entry (who, when, what)."""
    await session.execute(
        text(
            "UPDATE playbook_episodes SET status = :status,"
            " owner = COALESCE(:owner, owner),"
            " snoozed_until = CASE WHEN :status = 'snoozed'"
            " THEN COALESCE(:until, snoozed_until) END,"
            " resolution = COALESCE(:resolution, resolution), note = COALESCE(:note, note),"
            " acknowledged_at = COALESCE(acknowledged_at, :ack),"
            " lifecycle_closed_at = COALESCE(:closed, lifecycle_closed_at)"
            " WHERE account_id = :a AND playbook = :p AND episode_id = :e"
        ),
        {
            "status": change.status,
            "owner": change.owner,
            "until": change.snoozed_until,
            "resolution": change.resolution,
            "note": change.note,
            "ack": change.acknowledged_at,
            "closed": change.closed_at,
            "a": row.account_id,
            "p": row.playbook,
            "e": row.episode_id,
        },
    )
    await add_history(session, row.account_id, row.episode_id, at, change.kind, by, _detail(change))


def _detail(change: Change) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "owner": change.owner,
        "until": change.snoozed_until.isoformat() if change.snoozed_until else None,
        "resolution": change.resolution,
        "note": change.note,
    }
    return {k: v for k, v in detail.items() if v is not None}


async def add_history(
    session: AsyncSession,
    account_id: str,
    episode_id: str,
    at: datetime,
    action: str,
    by: str,
    detail: dict[str, Any],
) -> None:
    await session.execute(
        text(
            "INSERT INTO playbook_episode_history (account_id, episode_id, at, action, by, detail)"
            " VALUES (:a, :e, :at, :action, :by, CAST(:detail AS jsonb))"
        ),
        {
            "a": account_id,
            "e": episode_id,
            "at": at,
            "action": action,
            "by": by[:200],
            "detail": orjson.dumps(detail).decode(),
        },
    )


async def end_snoozes(session: AsyncSession, now: datetime) -> list[Row[Any]]:
    """Snoozes due by ``now`` end: back to open. The episodes, with ``was_snoozed_until``."""
    result = await session.execute(
        text(
            "WITH due AS (SELECT account_id, playbook, episode_id, snoozed_until"
            " FROM playbook_episodes WHERE status = 'snoozed' AND snoozed_until <= :now"
            " FOR UPDATE)"
            " UPDATE playbook_episodes e SET status = 'open', snoozed_until = NULL"
            " FROM due LEFT JOIN trigger_accounts a ON a.account_id = due.account_id"
            " WHERE e.account_id = due.account_id AND e.playbook = due.playbook"
            " AND e.episode_id = due.episode_id"
            f" RETURNING {COLUMNS}, due.snoozed_until AS was_snoozed_until"
        ),
        {"now": now},
    )
    return list(result)


async def feedback(
    session: AsyncSession,
    since: datetime | None,
    playbook: str | None = None,
    segment: str | None = None,
) -> list[Feedback]:
    """Per (playbook, segment) of the episodes opened since ``since`` (all: ``None``)."""
    clauses = ["status <> 'held_back'", "segment IS NOT NULL"]
    values: dict[str, Any] = {}
    for name, value in (("since", since), ("playbook", playbook), ("segment", segment)):
        if value is not None:
            clauses.append("opened_at >= :since" if name == "since" else f"{name} = :{name}")
            values[name] = value
    ack = "GREATEST(0, extract(epoch FROM acknowledged_at - opened_at))"
    close = "GREATEST(0, extract(epoch FROM lifecycle_closed_at - opened_at))"
    result = await session.execute(
        text(
            "SELECT playbook, segment, count(*) AS opened,"
            " count(*) FILTER (WHERE status = 'closed' AND resolution = 'actioned') AS actioned,"
            " count(*) FILTER (WHERE status = 'closed' AND resolution = 'not_useful')"
            " AS not_useful,"
            " count(*) FILTER (WHERE status = 'closed' AND resolution = 'false_alarm')"
            " AS false_alarm,"
            f" count(acknowledged_at) AS acked,"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {ack}) AS ack_p50,"
            f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {ack}) AS ack_p90,"
            " count(lifecycle_closed_at) AS closed_n,"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {close}) AS close_p50,"
            f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {close}) AS close_p90"
            f" FROM playbook_episodes WHERE {' AND '.join(clauses)}"
            " GROUP BY playbook, segment ORDER BY playbook, segment"
        ),
        values,
    )
    return [
        Feedback(
            r.playbook,
            r.segment,
            r.opened,
            {"actioned": r.actioned, "not_useful": r.not_useful, "false_alarm": r.false_alarm},
            Durations(r.acked, r.ack_p50, r.ack_p90),
            Durations(r.closed_n, r.close_p50, r.close_p90),
        )
        for r in result
    ]


async def record_held_back(
    session: AsyncSession, held: Sequence[tuple[str, Transition, str, str, str]]
) -> None:
    """(account, transition, why, segment, health JSON): episodes the horizon held back,
    stored resolved (never the machine's open episode) with status ``held_back``."""
    if not held:
        return
    rows, params = unnest(
        a=("text", [h[0] for h in held]),
        p=("text", [h[1].playbook for h in held]),
        e=("text", [h[1].episode_id for h in held]),
        t=("timestamptz", [h[1].at for h in held]),
        d=("timestamptz", [h[1].due_by for h in held]),
        r=("text", [h[1].reason for h in held]),
        w=("text", [h[2] for h in held]),
        s=("text", [h[3] for h in held]),
        h=("text", [h[4] for h in held]),
    )
    await session.execute(
        text(
            "INSERT INTO playbook_episodes (account_id, playbook, episode_id, opened_at, due_by,"
            " reason, closed_at, status, held_back_reason, segment, health)"
            " SELECT a, p, e, t, d, r, t, 'held_back', w, s, CAST(h AS jsonb)"
            f" FROM {rows} AS u(a, p, e, t, d, r, w, s, h) ON CONFLICT DO NOTHING"
        ),
        params,
    )


async def record_superseded(session: AsyncSession, ends: Sequence[tuple[str, Transition]]) -> None:
    """History of the episodes closed by hand that a new one replaced after the cool-down."""
    if not ends:
        return
    rows, params = unnest(
        a=("text", [a for a, _ in ends]),
        e=("text", [t.episode_id for _, t in ends]),
        t=("timestamptz", [t.at for _, t in ends]),
        r=("text", [t.reason for _, t in ends]),
    )
    await session.execute(
        text(
            "INSERT INTO playbook_episode_history (account_id, episode_id, at, action, by, detail)"
            " SELECT a, e, t, 'superseded', 'vigil', jsonb_build_object('reason', r)"
            f" FROM {rows} AS u(a, e, t, r)"
        ),
        params,
    )
