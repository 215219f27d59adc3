"""SQL of score trust: outcomes, the history behind accuracy, the shadow model.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.trust.accuracy.features import ScorePoint
from services.scoring.trust.accuracy.outcomes import Outcome
from shared.database.engine import unnest

POINTS_CHUNK = 5000


async def insert_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Store outcomes; returns those that were new (a repeat by key or id is ignored)."""
    if not outcomes:
        return []
    rows, params = unnest(
        a=("text", [o.account_id for o in outcomes]),
        k=("text", [o.kind for o in outcomes]),
        d=("date", [o.on for o in outcomes]),
        s=("text", [o.source for o in outcomes]),
        x=("text", [o.external_id for o in outcomes]),
    )
    result = await session.execute(
        text(
            "INSERT INTO outcomes (account_id, kind, outcome_date, source, external_id)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT DO NOTHING RETURNING account_id, kind, outcome_date"
        ),
        params,
    )
    new = {(r[0], r[1], r[2]) for r in result}
    return [o for o in outcomes if (o.account_id, o.kind, o.on) in new]


async def renewal_facts(
    session: AsyncSession, account_ids: Sequence[str]
) -> dict[str, tuple[Any, Any]]:
    """Each account's stored renewal date and cancellation (before a batch is applied)."""
    result = await session.execute(
        text(
            "SELECT account_id, renewal_at, canceled_at FROM accounts"
            " WHERE account_id = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": list(account_ids)},
    )
    return {r[0]: (r[1], r[2]) for r in result}


async def load_outcomes(session: AsyncSession) -> list[Outcome]:
    result = await session.execute(
        text("SELECT account_id, kind, outcome_date, source, external_id FROM outcomes")
    )
    return [Outcome(r[0], r[1], r[2], r[3], r[4]) for r in result]


async def outcome_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    result = await session.execute(
        text("SELECT kind, source, count(*) FROM outcomes GROUP BY kind, source")
    )
    return {(r[0], r[1]): int(r[2]) for r in result}


async def history_before_outcomes(session: AsyncSession) -> list[ScorePoint]:
    """Stored scores of accounts with outcomes, from before their last outcome day."""
    return await _points(
        session,
        text(
            # calibration measures the model: its own score, not an override's
            "SELECT h.account_id, h.as_of, COALESCE(h.model_score, h.score),"
            " COALESCE(h.model_band, h.band), COALESCE(h.model_components, h.components),"
            " h.model_version,"
            " h.segment FROM score_history h"
            " JOIN (SELECT account_id, max(outcome_date) AS last FROM outcomes"
            "       GROUP BY account_id) o ON o.account_id = h.account_id"
            " WHERE h.as_of < CAST(o.last AS timestamptz) ORDER BY h.account_id, h.seq"
        ),
    )


async def all_history(session: AsyncSession) -> list[ScorePoint]:
    return await _points(
        session,
        text(
            "SELECT account_id, as_of, COALESCE(model_score, score),"
            " COALESCE(model_band, band), COALESCE(model_components, components),"
            " model_version, segment"
            " FROM score_history ORDER BY account_id, seq"
        ),
    )


async def _points(session: AsyncSession, query: TextClause) -> list[ScorePoint]:
    """Read in chunks from a cursor: hundreds of thousands of rows decoded at once held
    the event loop, and the service's API with it, for seconds."""
    points: list[ScorePoint] = []
    result = await session.stream(query)
    async for rows in result.partitions(POINTS_CHUNK):
        points.extend(_point(r) for r in rows)
    return points


def _point(r: Any) -> ScorePoint:
    return ScorePoint(r[0], r[1], r[2], r[3], r[4] or {}, r[5], r[6])


async def history_mark(session: AsyncSession) -> tuple[Any, ...]:
    """What changes when a report's inputs do: outcomes, score history, stored models.

    Cheap whatever the history's size: the identity sequence of ``score_history``
    (it moves on every insert, a rolled back one too: a spurious change at worst),
    the outcomes' count and latest insert, the latest config version and shadow.
    """
    row = (
        await session.execute(
            text(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence('score_history', 'seq')),"
                " (SELECT count(*) FROM outcomes), (SELECT max(recorded_at) FROM outcomes),"
                " (SELECT max(version) FROM scoring_config), (SELECT max(id) FROM model_shadow)"
            )
        )
    ).one()
    return tuple(row)


async def account_segments(session: AsyncSession, *, everyone: bool = False) -> dict[str, str]:
    """The current segment of the accounts with an outcome (``everyone``: of all accounts):
    a report replays only their history, and a million accounts' segments took a second."""
    with_outcome = "" if everyone else " AND account_id IN (SELECT account_id FROM outcomes)"
    result = await session.execute(
        text(f"SELECT account_id, segment FROM accounts WHERE segment IS NOT NULL{with_outcome}")
    )
    return {r[0]: r[1] for r in result}


async def stored_configs(session: AsyncSession) -> list[tuple[int, dict[str, Any]]]:
    """Every live model config ever stored, and the shadow candidates."""
    result = await session.execute(
        text(
            "SELECT version, config FROM scoring_config"
            " UNION ALL SELECT -id, config FROM model_shadow ORDER BY 1"
        )
    )
    return [(int(r[0]), dict(r[1])) for r in result]


@dataclass(frozen=True)
class ShadowRow:
    id: int
    config: dict[str, Any]
    model_version: str
    created_at: datetime


async def active_shadow(session: AsyncSession) -> ShadowRow | None:
    row = (
        await session.execute(
            text(
                "SELECT id, config, model_version, created_at FROM model_shadow"
                " WHERE ended_at IS NULL"
            )
        )
    ).first()
    return None if row is None else ShadowRow(row[0], dict(row[1]), row[2], row[3])


async def start_shadow(session: AsyncSession, config: dict[str, Any], model_version: str) -> int:
    """Make ``config`` the shadow, ending the one before (cleared)."""
    await end_shadow(session, "cleared", None)
    result = await session.execute(
        text(
            "INSERT INTO model_shadow (config, model_version) VALUES (CAST(:c AS jsonb), :m)"
            " RETURNING id"
        ),
        {"c": orjson.dumps(config).decode(), "m": model_version},
    )
    return int(result.scalar_one())


async def end_shadow(session: AsyncSession, ended_as: str, promoted_version: int | None) -> None:
    await session.execute(
        text(
            "UPDATE model_shadow SET ended_at = now(), ended_as = :e, promoted_version = :v"
            " WHERE ended_at IS NULL"
        ),
        {"e": ended_as, "v": promoted_version},
    )


@dataclass(frozen=True)
class ShadowScore:
    account_id: str
    model_version: str
    as_of: datetime
    score: float
    band: str
    components: dict[str, float | None]


async def store_shadow_scores(session: AsyncSession, rows: Sequence[ShadowScore]) -> None:
    if not rows:
        return
    scores, params = unnest(
        a=("text", [r.account_id for r in rows]),
        m=("text", [r.model_version for r in rows]),
        t=("timestamptz", [r.as_of for r in rows]),
        s=("float8", [r.score for r in rows]),
        b=("text", [r.band for r in rows]),
        c=("jsonb", [orjson.dumps(r.components).decode() for r in rows]),
    )
    await session.execute(
        text(
            "INSERT INTO shadow_scores AS s (account_id, model_version, as_of, score, band,"
            f" components) SELECT * FROM {scores}"
            " ON CONFLICT (account_id, model_version) DO UPDATE SET as_of = EXCLUDED.as_of,"
            " score = EXCLUDED.score, band = EXCLUDED.band, components = EXCLUDED.components"
        ),
        params,
    )


async def band_changes(session: AsyncSession, model_version: str) -> dict[str, Any]:
    """How many accounts the shadow puts in another band than the live model does (the
    model's own band: an override is not the live model's judgement)."""
    row = (
        await session.execute(
            text(
                "SELECT count(*) AS scored,"
                " count(*) FILTER (WHERE s.band <> COALESCE(a.model_band, a.band)) AS changed"
                " FROM shadow_scores s JOIN accounts a USING (account_id)"
                " WHERE s.model_version = :m AND a.band IS NOT NULL"
            ),
            {"m": model_version},
        )
    ).one()
    moves = await session.execute(
        text(
            "SELECT COALESCE(a.model_band, a.band) AS live, s.band AS shadow, count(*)"
            " FROM shadow_scores s JOIN accounts a USING (account_id) WHERE s.model_version = :m"
            " AND a.band IS NOT NULL AND s.band <> COALESCE(a.model_band, a.band)"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"m": model_version},
    )
    return {
        "scored": int(row.scored),
        "changed_band": int(row.changed),
        "moves": {f"{r[0]}->{r[1]}": int(r[2]) for r in moves},
    }
