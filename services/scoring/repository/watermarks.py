"""SQL of scoring's event time: watermark reports, held-back accounts, published facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.event_time import Key, WatermarkRow
from shared.database.engine import unnest

# the table's columns (WatermarkRow's fields, in order) and their types
COLUMNS = {
    "signals_partition": "int",
    "source": "text",
    "raw_partition": "int",
    "raw_partitions": "int",
    "signals_partitions": "int",
    "watermark": "timestamptz",
    "caught_up": "bool",
    "emitted_at": "timestamptz",
    "seen": "timestamptz",
}


async def load_watermarks(session: AsyncSession) -> dict[Key, WatermarkRow]:
    result = await session.execute(text(f"SELECT {', '.join(COLUMNS)} FROM source_watermarks"))
    rows = [WatermarkRow(*row) for row in result]
    return {row.key: row for row in rows}


# as ``services.scoring.domain.event_time.fell_behind``: the later report starts a new backlog
FELL_BEHIND = "EXCLUDED.emitted_at >= w.emitted_at AND w.caught_up AND NOT EXCLUDED.caught_up"


async def store_watermarks(session: AsyncSession, rows: Sequence[WatermarkRow]) -> None:
    """Upsert reports; a watermark never moves back but when its partition falls behind
    (``services.scoring.domain.event_time.merge``), the later report wins the rest."""
    if not rows:
        return
    reports, params = unnest(
        **{name: (kind, [getattr(row, name) for row in rows]) for name, kind in COLUMNS.items()}
    )
    await session.execute(
        text(
            "INSERT INTO source_watermarks AS w (signals_partition, source, raw_partition,"
            " raw_partitions, signals_partitions, watermark, caught_up, emitted_at, seen)"
            f" SELECT * FROM {reports}"
            " ON CONFLICT (signals_partition, source, raw_partition) DO UPDATE SET"
            f" watermark = CASE WHEN {FELL_BEHIND} THEN EXCLUDED.watermark"
            "   ELSE GREATEST(w.watermark, EXCLUDED.watermark) END,"
            f" seen = CASE WHEN {FELL_BEHIND} THEN EXCLUDED.seen"
            "   ELSE GREATEST(w.seen, EXCLUDED.seen) END,"
            " raw_partitions = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.raw_partitions ELSE w.raw_partitions END,"
            " signals_partitions = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.signals_partitions ELSE w.signals_partitions END,"
            " caught_up = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.caught_up ELSE w.caught_up END,"
            " emitted_at = GREATEST(w.emitted_at, EXCLUDED.emitted_at)"
        ),
        params,
    )


async def held_back_accounts(session: AsyncSession, bound: datetime, limit: int) -> list[str]:
    """Accounts judged before their latest event that can be judged at it now (an account
    is never judged before its latest applied event: ``event_time.judgement_time``)."""
    result = await session.execute(
        text(
            "SELECT account_id FROM accounts"
            " WHERE (scored_as_of IS NULL OR scored_as_of < last_event_at)"
            " AND last_event_at <= :bound"
            " ORDER BY account_id LIMIT :limit"
        ),
        {"bound": bound, "limit": limit},
    )
    return [row[0] for row in result]
