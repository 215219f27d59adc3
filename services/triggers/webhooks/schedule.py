"""When to try a delivery again. Pure."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_DELTA_SECONDS = re.compile(r"[0-9]+", re.ASCII)


def next_attempt_delay(
    attempts_done: int, schedule_s: Sequence[float], jitter_ratio: float, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after ``attempts_done`` attempts; None when exhausted."""
    if attempts_done >= len(schedule_s):
        return None
    base = schedule_s[attempts_done]
    return base * (1 + rng.uniform(-jitter_ratio, jitter_ratio))


def retry_after_seconds(header: str | None, now: datetime, cap_s: float) -> float | None:
    """``Retry-After`` (RFC 9110 10.2.3) as seconds, within ``[0, cap_s]``; None when absent
    or neither form.

    The receiver writes this header: ``delta-seconds`` is ASCII digits only (``"²"`` is a
    digit to ``str.isdigit`` and not to ``float``), and an ``HTTP-date`` is GMT, so a date
    without a usable zone (``-0000``) is read as UTC rather than compared naive.
    """
    if not header:
        return None
    value = header.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), cap_s)  # a huge number reads as inf: the cap
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return None
    return min(max(0.0, seconds), cap_s)


def due_at(now: datetime, delay_s: float) -> datetime:
    return now + timedelta(seconds=delay_s)
