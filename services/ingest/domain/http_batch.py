"""Per-event outcomes of a ``POST /v1/events`` batch. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

import orjson

from services.ingest.domain.routing import Limits
from services.ingest.domain.validation import InvalidEvent, ReasonCode, decode_event, to_signal
from shared.contracts import Signal, Source

SOURCES: tuple[str, ...] = get_args(Source)  # one definition: the signals contract


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    index: int
    event_id: str | None
    signal: Signal | None
    reason_code: str | None = None
    reason_message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.signal is not None


def validate_batch(items: list[Any], *, now: datetime, limits: Limits) -> list[ItemOutcome]:
    """Each item is a raw event plus ``source``; answer each one on its own."""
    return [_validate_item(index, item, now, limits) for index, item in enumerate(items)]


def _validate_item(index: int, item: Any, now: datetime, limits: Limits) -> ItemOutcome:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    try:
        if not isinstance(item, dict):
            raise InvalidEvent(ReasonCode.not_object, "each event must be a JSON object")
        source = item.get("source")
        if source not in SOURCES:
            raise InvalidEvent(
                ReasonCode.unknown_source, f"source must be one of {', '.join(SOURCES)}"
            )
        body = {key: value for key, value in item.items() if key != "source"}
        # Re-encoding runs the exact checks the Kafka path runs (size, depth, NUL).
        event = decode_event(
            source,
            orjson.dumps(body),
            now=now,
            max_bytes=limits.max_event_bytes,
            max_depth=limits.max_json_depth,
        )
        return ItemOutcome(index, event.event_id, to_signal(event, source, now))
    except InvalidEvent as invalid:
        return ItemOutcome(index, event_id, None, str(invalid.code), invalid.message)
    except TypeError as error:  # orjson refuses e.g. integers over 64 bits
        return ItemOutcome(index, event_id, None, str(ReasonCode.wrong_type), str(error))
