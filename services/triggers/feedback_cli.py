"""The feedback table for ``vigil calibrate``: read from the triggers' tables (read-only).

Calibration is scoring's (the AUC); the episodes and what people said of them are
the triggers'. The ``vigil`` command, which assembles both, asks each service for
its part, so neither service imports the other.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.exc import ProgrammingError

from services.triggers import episode_repository as repo
from services.triggers.domain.feedback import as_data, lines
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.settings.connections import PostgresTls

TITLE = "\n== playbook feedback: what CSMs said when they closed the alarms =="


async def _load(
    database_url: str, since: datetime | None, tls: PostgresTls | None
) -> tuple[list[str], Any]:
    engine = create_engine(database_url, pool_size=1, tls=tls)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            rows = await repo.feedback(session, since)
    except ProgrammingError:  # a database without the triggers' tables
        return ["  no feedback: this database holds no playbook episodes"], []
    finally:
        await engine.dispose()
    return lines(rows), as_data(rows)


def feedback_section(
    database_url: str, since: datetime | None = None, *, tls: PostgresTls | None = None
) -> tuple[str, list[str], Any]:
    """(title, text lines, JSON data) of the feedback of the episodes opened since ``since``."""
    text, data = asyncio.run(_load(database_url, since, tls))
    return TITLE, text, data
