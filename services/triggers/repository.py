"""Every SQL statement of the triggers service's rule path. Never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.domain.episodes import Episode, Track, Transition
from services.triggers.domain.playbooks import AccountView
from shared.database.engine import unnest


async def lock_views(
    session: AsyncSession, account_ids: Sequence[str], scores_since: datetime
) -> tuple[dict[str, AccountView], dict[str, dict[str, Episode]]]:
    """Accounts' views (rows locked in id order) and their open episodes."""
    ids = sorted(set(account_ids))
    rows = await session.execute(
        text(
            "SELECT * FROM trigger_accounts WHERE account_id = ANY(CAST(:ids AS text[]))"
            " ORDER BY account_id FOR UPDATE"
        ),
        {"ids": ids},
    )
    scores: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for r in await session.execute(
        text(
            "SELECT account_id, as_of, score FROM trigger_scores"
            " WHERE account_id = ANY(CAST(:ids AS text[])) AND as_of >= :since ORDER BY as_of"
        ),
        {"ids": ids, "since": scores_since},
    ):
        scores[r.account_id].append((r.as_of, r.score))
    views = {r.account_id: view_from_row(r, scores[r.account_id]) for r in rows}
    return views, await open_episodes(session, ids)


def view_from_row(row: Any, recent: list[tuple[datetime, float]]) -> AccountView:
    facts = row.facts or {}
    return AccountView(
        account_id=row.account_id,
        segment=row.segment,
        score=row.score,
        band=row.band,
        components=row.components,
        first_seen_at=row.first_seen_at,
        as_of=row.as_of,
        health_event_id=row.health_event_id,
        revision=row.health_revision,
        recent_scores=tuple(recent),
        seats=facts.get("seats"),
        active_users_7d=facts.get("active_users_7d", 0),
        active_users_30d=facts.get("active_users_30d"),
        usage_ratio=facts.get("usage_ratio_to_baseline"),
        usage_ratio_14d=facts.get("usage_ratio_14d_to_baseline"),
        renewal_at=row.renewal_at,
        started_at=row.started_at,
        first_value_at=row.first_value_at,
        canceled=bool(facts.get("canceled", False)),
        measures=facts.get("measures") or {},
    )


async def open_episodes(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, Episode]]:
    result: dict[str, dict[str, Episode]] = defaultdict(dict)
    for r in await session.execute(
        text(
            "SELECT account_id, playbook, episode_id, opened_at, due_by, reason,"
            " lifecycle_closed_at FROM playbook_episodes"
            " WHERE account_id = ANY(CAST(:ids AS text[]))"
            " AND closed_at IS NULL"
        ),
        {"ids": list(ids)},
    ):
        result[r.account_id][r.playbook] = Episode(
            r.episode_id, r.playbook, r.opened_at, r.due_by, r.reason, r.lifecycle_closed_at
        )
    return result


def facts_of(view: AccountView) -> dict[str, Any]:
    return {
        "seats": view.seats,
        "active_users_7d": view.active_users_7d,
        "active_users_30d": view.active_users_30d,
        "usage_ratio_to_baseline": view.usage_ratio,
        "usage_ratio_14d_to_baseline": view.usage_ratio_14d,
        "canceled": view.canceled,
        "measures": dict(view.measures),
    }


async def store_views(session: AsyncSession, views: Sequence[AccountView]) -> None:
    """Upsert each account's latest view."""
    if not views:
        return
    rows, params = unnest(
        a=("text", [v.account_id for v in views]),
        seg=("text", [v.segment for v in views]),
        first=("timestamptz", [v.first_seen_at for v in views]),
        as_of=("timestamptz", [v.as_of for v in views]),
        e=("text", [v.health_event_id for v in views]),
        s=("float8", [v.score for v in views]),
        b=("text", [v.band for v in views]),
        c=("jsonb", [orjson.dumps(dict(v.components)).decode() for v in views]),
        f=("jsonb", [orjson.dumps(facts_of(v)).decode() for v in views]),
        r=("date", [v.renewal_at for v in views]),
        st=("timestamptz", [v.started_at for v in views]),
        fv=("timestamptz", [v.first_value_at for v in views]),
        rev=("int8", [v.revision for v in views]),
    )
    await session.execute(
        text(
            "INSERT INTO trigger_accounts AS t (account_id, segment, first_seen_at, as_of,"
            " health_event_id, score, band, components, facts, renewal_at, started_at,"
            f" first_value_at, health_revision) SELECT * FROM {rows}"
            " ON CONFLICT (account_id) DO UPDATE SET segment = EXCLUDED.segment,"
            " as_of = EXCLUDED.as_of, health_event_id = EXCLUDED.health_event_id,"
            " health_revision = EXCLUDED.health_revision,"
            " score = EXCLUDED.score, band = EXCLUDED.band, components = EXCLUDED.components,"
            " facts = EXCLUDED.facts, renewal_at = EXCLUDED.renewal_at,"
            " started_at = EXCLUDED.started_at, first_value_at = EXCLUDED.first_value_at,"
            " updated_at = now()"
        ),
        params,
    )


async def add_scores(session: AsyncSession, points: Sequence[tuple[str, datetime, float]]) -> None:
    """Score points, one per (account, as_of): a correction replaces the stored one."""
    if not points:
        return
    rows, params = unnest(
        a=("text", [p[0] for p in points]),
        t=("timestamptz", [p[1] for p in points]),
        s=("float8", [p[2] for p in points]),
    )
    await session.execute(
        text(
            f"INSERT INTO trigger_scores (account_id, as_of, score) SELECT * FROM {rows}"
            " ON CONFLICT (account_id, as_of) DO UPDATE SET score = EXCLUDED.score"
        ),
        params,
    )


async def apply_transitions(
    session: AsyncSession,
    transitions: Sequence[tuple[str, Transition]],
    opened_with: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Close the resolved episodes and open the triggered ones. ``opened_with``: episode
    id -> (segment, health JSON) at its opening. A held-back episode emitted later
    (same id) becomes open.

    Closes go first, and an episode opened and closed within the batch is stored
    closed: one resolved and reopened in a batch must not meet its successor open
    (one open episode per account and playbook), or the successor would be lost.
    """
    opened = [(a, t) for a, t in transitions if t.kind == "triggered"]
    # a superseded episode (closed by hand, renewed after the cool-down) leaves the rules too
    ends = {t.episode_id: t.at for _, t in transitions if t.kind in ("resolved", "superseded")}
    new = {t.episode_id for _, t in opened}
    closed = [(a, t) for a, t in transitions if t.kind != "triggered" and t.episode_id not in new]
    if closed:
        await _close(session, closed)
    if opened:
        await _open(session, opened, ends, opened_with or {})


async def _close(session: AsyncSession, closed: Sequence[tuple[str, Transition]]) -> None:
    rows, params = unnest(
        a=("text", [a for a, _ in closed]),
        p=("text", [t.playbook for _, t in closed]),
        e=("text", [t.episode_id for _, t in closed]),
        t=("timestamptz", [t.at for _, t in closed]),
    )
    await session.execute(
        text(
            f"UPDATE playbook_episodes e SET closed_at = u.t FROM {rows} AS u(a, p, e, t)"
            " WHERE e.account_id = u.a AND e.playbook = u.p AND e.episode_id = u.e"
        ),
        params,
    )


async def _open(
    session: AsyncSession,
    opened: Sequence[tuple[str, Transition]],
    ends: Mapping[str, datetime],
    described: Mapping[str, tuple[str, str]],
) -> None:
    rows, values = unnest(
        a=("text", [a for a, _ in opened]),
        p=("text", [t.playbook for _, t in opened]),
        e=("text", [t.episode_id for _, t in opened]),
        t=("timestamptz", [t.at for _, t in opened]),
        d=("timestamptz", [t.due_by for _, t in opened]),
        r=("text", [t.reason for _, t in opened]),
        s=("text", [described.get(t.episode_id, (None, None))[0] for _, t in opened]),
        h=("text", [described.get(t.episode_id, (None, None))[1] for _, t in opened]),
        c=("timestamptz", [ends.get(t.episode_id) for _, t in opened]),
    )
    table = f"{rows} AS u(a, p, e, t, d, r, s, h, c)"
    await session.execute(
        text(
            "UPDATE playbook_episodes e SET status = 'open', closed_at = u.c,"
            " opened_at = u.t, due_by = u.d, reason = u.r, segment = u.s,"
            f" health = CAST(u.h AS jsonb) FROM {table}"
            " WHERE e.account_id = u.a AND e.playbook = u.p AND e.episode_id = u.e"
            " AND e.status = 'held_back' AND NOT EXISTS (SELECT 1 FROM playbook_episodes o"
            " WHERE o.account_id = u.a AND o.playbook = u.p AND o.closed_at IS NULL)"
        ),
        values,
    )
    await session.execute(
        text(
            "INSERT INTO playbook_episodes (account_id, playbook, episode_id, opened_at,"
            " due_by, reason, segment, health, closed_at)"
            f" SELECT a, p, e, t, d, r, s, CAST(h AS jsonb), c FROM {table}"
            " ON CONFLICT DO NOTHING"
        ),
        values,
    )


async def account_ids_page(session: AsyncSession, after: str | None, limit: int) -> list[str]:
    result = await session.execute(
        text(
            "SELECT account_id FROM trigger_accounts WHERE account_id > :after"
            " ORDER BY account_id LIMIT :limit"
        ),
        {"after": after or "", "limit": limit},
    )
    return [r[0] for r in result]


async def prune_scores(session: AsyncSession, before: datetime) -> None:
    await session.execute(text("DELETE FROM trigger_scores WHERE as_of < :t"), {"t": before})


async def load_tracks(
    session: AsyncSession, account_ids: Sequence[str]
) -> dict[str, dict[str, Track]]:
    """Each account's rule bookkeeping (read under the account rows' locks)."""
    result: dict[str, dict[str, Track]] = defaultdict(dict)
    for r in await session.execute(
        text(
            "SELECT account_id, playbook, condition_since, opened_at, last_resolved_at,"
            " clearing_since, stepped_at, before_condition_since, before_opened_at,"
            " before_last_resolved_at, before_clearing_since"
            " FROM playbook_tracks WHERE account_id = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": sorted(set(account_ids))},
    ):
        before = Track(
            r.before_condition_since,
            r.before_opened_at,
            r.before_last_resolved_at,
            r.before_clearing_since,
        )
        result[r.account_id][r.playbook] = Track(
            r.condition_since,
            r.opened_at,
            r.last_resolved_at,
            r.clearing_since,
            r.stepped_at,
            None if r.stepped_at is None else before,
        )
    return result


async def store_tracks(session: AsyncSession, tracks: Sequence[tuple[str, str, Track]]) -> None:
    """Upsert (account, playbook, track) rows."""
    if not tracks:
        return
    before = [t.before or Track() for _, _, t in tracks]
    rows, params = unnest(
        a=("text", [a for a, _, _ in tracks]),
        p=("text", [p for _, p, _ in tracks]),
        s=("timestamptz", [t.condition_since for _, _, t in tracks]),
        o=("timestamptz", [t.opened_at for _, _, t in tracks]),
        r=("timestamptz", [t.last_resolved_at for _, _, t in tracks]),
        c=("timestamptz", [t.clearing_since for _, _, t in tracks]),
        at=("timestamptz", [t.stepped_at for _, _, t in tracks]),
        bs=("timestamptz", [b.condition_since for b in before]),
        bo=("timestamptz", [b.opened_at for b in before]),
        br=("timestamptz", [b.last_resolved_at for b in before]),
        bc=("timestamptz", [b.clearing_since for b in before]),
    )
    await session.execute(
        text(
            "INSERT INTO playbook_tracks AS t (account_id, playbook, condition_since, opened_at,"
            " last_resolved_at, clearing_since, stepped_at, before_condition_since,"
            " before_opened_at, before_last_resolved_at, before_clearing_since)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, playbook) DO UPDATE SET"
            " condition_since = EXCLUDED.condition_since, opened_at = EXCLUDED.opened_at,"
            " last_resolved_at = EXCLUDED.last_resolved_at,"
            " clearing_since = EXCLUDED.clearing_since, stepped_at = EXCLUDED.stepped_at,"
            " before_condition_since = EXCLUDED.before_condition_since,"
            " before_opened_at = EXCLUDED.before_opened_at,"
            " before_last_resolved_at = EXCLUDED.before_last_resolved_at,"
            " before_clearing_since = EXCLUDED.before_clearing_since"
        ),
        params,
    )
