"""When to try a delivery again. Pure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


def next_attempt_delay(
    attempts_done: int, schedule_s: Sequence[float], jitter_ratio: float, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after ``attempts_done`` attempts; None when exhausted."""
    if attempts_done >= len(schedule_s):
        return None
    base = schedule_s[attempts_done]
    return base * (1 + rng.uniform(-jitter_ratio, jitter_ratio))


def retry_after_seconds(header: str | None, now: datetime, cap_s: float) -> float | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not header:
        return None
    value = header.strip()
    if value.isdigit():
        return min(float(value), cap_s)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, (when - now).total_seconds()), cap_s)


def due_at(now: datetime, delay_s: float) -> datetime:
    return now + timedelta(seconds=delay_s)
