"""SQL of scoring's event time: watermark reports, held-back accounts, published facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.event_time import Key, WatermarkRow

COLUMNS = [
    "signals_partition",
    "source",
    "raw_partition",
    "raw_partitions",
    "signals_partitions",
    "watermark",
    "caught_up",
    "emitted_at",
]


async def load_watermarks(session: AsyncSession) -> dict[Key, WatermarkRow]:
    result = await session.execute(text(f"SELECT {', '.join(COLUMNS)} FROM source_watermarks"))
    rows = [WatermarkRow(*row) for row in result]
    return {row.key: row for row in rows}


async def store_watermarks(session: AsyncSession, rows: Sequence[WatermarkRow]) -> None:
    """Upsert reports; a watermark never moves back, the later report wins the rest."""
    if not rows:
        return
    await session.execute(
        text(
            "INSERT INTO source_watermarks AS w (signals_partition, source, raw_partition,"
            " raw_partitions, signals_partitions, watermark, caught_up, emitted_at)"
            " SELECT * FROM unnest(CAST(:signals_partition AS int[]), CAST(:source AS text[]),"
            " CAST(:raw_partition AS int[]), CAST(:raw_partitions AS int[]),"
            " CAST(:signals_partitions AS int[]), CAST(:watermark AS timestamptz[]),"
            " CAST(:caught_up AS bool[]), CAST(:emitted_at AS timestamptz[]))"
            " ON CONFLICT (signals_partition, source, raw_partition) DO UPDATE SET"
            " watermark = GREATEST(w.watermark, EXCLUDED.watermark),"
            " raw_partitions = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.raw_partitions ELSE w.raw_partitions END,"
            " signals_partitions = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.signals_partitions ELSE w.signals_partitions END,"
            " caught_up = CASE WHEN EXCLUDED.emitted_at >= w.emitted_at"
            "   THEN EXCLUDED.caught_up ELSE w.caught_up END,"
            " emitted_at = GREATEST(w.emitted_at, EXCLUDED.emitted_at)"
        ),
        {name: [getattr(row, name) for row in rows] for name in COLUMNS},
    )


async def held_back_accounts(session: AsyncSession, bound: datetime, limit: int) -> list[str]:
    """Accounts judged before their latest event whose judgement time can now move."""
    result = await session.execute(
        text(
            "SELECT account_id FROM accounts"
            " WHERE (scored_as_of IS NULL OR scored_as_of < last_event_at)"
            " AND first_seen_at <= :bound"
            " AND (scored_as_of IS NULL OR scored_as_of < LEAST(last_event_at, :bound))"
            " ORDER BY account_id LIMIT :limit"
        ),
        {"bound": bound, "limit": limit},
    )
    return [row[0] for row in result]
