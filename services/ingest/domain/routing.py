"""Where each consumed message goes: a signal, or a dead-letter record. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.ingest.domain.validation import InvalidEvent, ReasonCode, decode_event, to_signal
from shared.consumer.dead_letter import Origin, bounded_key, dead_letter_bytes, dead_letter_record
from shared.contracts import signal_to_json
from shared.dlq.attempts import attempt_of

# A signal must fit the broker's default message.max.bytes (1 MiB incl. overhead);
# a bigger one would fail its produce forever, so it is dead-lettered instead.
MAX_SIGNAL_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    max_event_bytes: int = 1_048_576
    max_json_depth: int = 8


@dataclass(frozen=True, slots=True)
class Routed:
    """What to produce for one input message."""

    topic: str
    key: bytes | None
    value: bytes
    event_id: str | None
    reason_code: str | None  # None for a valid event
    occurred_at: datetime | None = None  # a valid event's event time (for watermarks)


def route_message(
    message: Origin,
    sources: Mapping[str, str],
    *,
    signals_topic: str,
    dlq_topic: str,
    now: datetime,
    limits: Limits,
) -> Routed:
    """Validate and normalize one message into a signal, or dead-letter it with a reason."""
    try:
        source = sources.get(message.topic)
        if source is None:
            raise InvalidEvent(
                ReasonCode.unknown_source, f"no contract for topic {message.topic!r}"
            )
        event = decode_event(
            source,
            message.value or b"",
            now=now,
            max_bytes=limits.max_event_bytes,
            max_depth=limits.max_json_depth,
        )
        signal = to_signal(event, source, now)
        key = signal.account_id.encode("utf-8")
        value = signal_to_json(signal)
        if len(value) > MAX_SIGNAL_BYTES:
            raise InvalidEvent(
                ReasonCode.too_large, f"signal of {len(value)} bytes is over {MAX_SIGNAL_BYTES}"
            )
        return Routed(signals_topic, key, value, signal.event_id, None, signal.occurred_at)
    except InvalidEvent as invalid:
        return dead_letter(message, invalid.code, invalid.message, dlq_topic=dlq_topic, now=now)
    except Exception as error:  # noqa: BLE001 - a poison message must never stop the loop
        return dead_letter(
            message,
            "internal_error",
            f"{type(error).__name__}: {error}",
            dlq_topic=dlq_topic,
            now=now,
        )


def dead_letter(message: Origin, code: str, text: str, *, dlq_topic: str, now: datetime) -> Routed:
    """A bounded DLQ record with (the start of) the original bytes and where they came from."""
    record = dead_letter_record(
        message,
        stage="ingest",
        code=str(code),
        message=text,
        received_at=now,
        attempt=attempt_of(message.headers),
    )
    return Routed(dlq_topic, bounded_key(message.key), dead_letter_bytes(record), None, str(code))
