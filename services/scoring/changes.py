"""When a new score is a health change, and the message that says so. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime

HEALTH_CHANGE_NAMESPACE = uuid.UUID("8f7d2c1e-5b0a-4c3e-9a61-2d4f0e7b9c11")


def is_health_change(
    previous_score: float | None, previous_band: str | None, score: float, band: str, step: float
) -> bool:
    """A first score, a band change, or a move of at least ``step`` points."""
    if previous_score is None or previous_band is None:
        return True
    return band != previous_band or abs(score - previous_score) >= step


def health_change_id(account_id: str, as_of: datetime, score: float, band: str) -> str:
    """Deterministic: the same state scored at the same time gives the same id."""
    return str(
        uuid.uuid5(HEALTH_CHANGE_NAMESPACE, f"{account_id}|{as_of.isoformat()}|{score}|{band}")
    )
