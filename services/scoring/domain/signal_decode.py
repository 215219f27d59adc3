"""Decoding ``signals`` records on scoring's hot path. Pure.

Ingest validated every signal against the contract, so most records need no
second validation: usage signals (nearly all of the traffic) in the form
ingest writes them are decoded with orjson into a plain frozen object, about
ten times faster than the pydantic model. The fast path only accepts a record
whose every field the contract would take unchanged (ids already stripped and
bounded, UTC timestamps in the window, canonical names, a quantity in range);
anything else, including every other source, goes through the contract
(``shared.contracts.signal_from_json``), so a foreign or malformed record still
fails with the contract's ``ValidationError`` and is isolated and dead-lettered
exactly as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import orjson

from shared.contracts import Signal, signal_from_json
from shared.contracts.fields import EARLIEST, LATEST, MAX_ID_LENGTH, MAX_QUANTITY


class TrustedUsage(NamedTuple):
    """A usage signal as ``UsageSignal`` reads it (the fields scoring uses).

    A named tuple: a frozen dataclass costs ten times as much to build.
    """

    event_id: str
    account_id: str
    occurred_at: datetime
    ingested_at: datetime
    type: str
    user_id: str
    feature: str
    quantity: float
    source: Literal["usage"] = "usage"


ScoringSignal = Signal | TrustedUsage


def decode_signal(data: bytes) -> ScoringSignal:
    """The signal in ``data``; raises the contract's ``ValidationError`` when it breaks it."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        body = None
    # JSON carries NUL only escaped: one search rules it out of every field at once
    usage = type(body) is dict and body.get("source") == "usage" and b"\\u0000" not in data
    fast = _usage(body) if usage else None
    return fast if fast is not None else signal_from_json(data)


def _usage(body: dict[str, Any]) -> TrustedUsage | None:
    """The usage signal if every field is as the contract would leave it, else ``None``.

    One function with the checks inline: a call per field cost as much as pydantic.
    """
    try:
        event_id, account_id, user_id = body["event_id"], body["account_id"], body["user_id"]
        occurred_at = datetime.fromisoformat(body["occurred_at"])
        ingested_at = datetime.fromisoformat(body["ingested_at"])
        kind: Any = body["type"]
    except (KeyError, TypeError, ValueError):
        return None
    feature: Any = body.get("feature", kind)
    quantity: Any = body.get("quantity", 1.0)
    version: Any = body.get("schema_version", 1)
    if (
        # "Z" and "+00:00" parse to the UTC singleton; other offsets the contract converts
        occurred_at.tzinfo is UTC
        and ingested_at.tzinfo is UTC
        and EARLIEST <= occurred_at < LATEST
        and EARLIEST <= ingested_at < LATEST
        and _plain_id(event_id)
        and _plain_id(account_id)
        and _plain_id(user_id)
        and type(kind) is str
        and type(feature) is str
        and _canonical(kind)
        and _canonical(feature)
        and type(quantity) in (float, int)
        and 0 < quantity <= MAX_QUANTITY
        and type(version) is int
        and version == 1
    ):
        return TrustedUsage(
            event_id, account_id, occurred_at, ingested_at, kind, user_id, feature, float(quantity)
        )
    return None


def _plain_id(value: Any) -> bool:
    """Stripped and bounded (NUL was ruled out on the whole record)."""
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH and value == value.strip()


def _canonical(value: str) -> bool:
    """Already canonical (``shared.contracts.fields.canonical_name`` would not change it).

    Types and features are a small vocabulary: cached, the check is a lookup. Only
    bounded strings reach the cache, so it holds at most 4096 keys of at most
    ``MAX_ID_LENGTH`` characters whatever a producer sends.
    """
    return 0 < len(value) <= MAX_ID_LENGTH and _canonical_bounded(value)


@lru_cache(maxsize=4096)
def _canonical_bounded(value: str) -> bool:
    return value == "_".join(value.lower().replace("-", " ").split())
