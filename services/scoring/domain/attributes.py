"""Account attributes from subscription events' extra fields. Pure.

A producer may put any field of its own on a subscription event (``region``,
``industry``, ``tier`` …); the contract lets it travel to ``signals``. Scoring
keeps the scalar ones per account so that a scorecard's segments can read them,
bounded so that one event cannot bloat an account's row: names as a scorecard
could spell them, short strings and finite numbers only, at most
``MAX_ATTRIBUTES`` per event. Anything else is left out (not truncated: a cut
value would put an account in the wrong segment without a word).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

AttributeValue = str | float
# as stored and folded: the value and the event time that set it, in microseconds
Stamped = tuple[AttributeValue, int]

MAX_ATTRIBUTES = 32
MAX_NAME = 64
MAX_TEXT = 128
MAX_NUMBER = 1e15  # beyond it a float loses units (and NaN compares false)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAME = re.compile(r"[a-z][a-z0-9_]*")  # a scorecard's Ident


def subscription_attributes(extra: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    """The attributes an event's extra fields give, in name order, at most ``MAX_ATTRIBUTES``."""
    kept: dict[str, AttributeValue] = {}
    for name in sorted(extra or ()):
        if len(kept) == MAX_ATTRIBUTES:
            break
        value = attribute_value(extra[name]) if extra else None
        if value is not None and len(name) <= MAX_NAME and NAME.fullmatch(name):
            kept[name] = value
    return kept


def attribute_value(value: Any) -> AttributeValue | None:
    """A string up to ``MAX_TEXT`` characters or a finite number; ``None`` for anything else."""
    if isinstance(value, bool):  # JSON true/false: not a number, and no text either
        return None
    if isinstance(value, str):
        return value if 0 < len(value) <= MAX_TEXT and "\x00" not in value else None
    # compared before any conversion: an integer too large for a float (JSON allows one
    # of any length) is left out like infinity and NaN, instead of raising
    if isinstance(value, int | float) and abs(value) <= MAX_NUMBER:
        return float(value)
    return None


def stamp(attributes: Mapping[str, AttributeValue], at: datetime) -> dict[str, Stamped]:
    """``attributes`` with the time of the event that carried them."""
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return {name: (value, micros) for name, value in attributes.items()}


def latest_values(stored: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    """The values of stored (or folded) stamped attributes; a malformed entry is left out."""
    values: dict[str, AttributeValue] = {}
    for name, entry in (stored or {}).items():
        value = attribute_value(entry[0]) if isinstance(entry, list | tuple) and entry else None
        if value is not None:
            values[name] = value
    return values
