"""Where each consumed message goes: a signal, or a dead-letter record. Pure."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.ingest.validation import InvalidEvent, ReasonCode, decode_event, to_signal
from shared.contracts import DlqRecord, signal_to_json
from shared.kafka import dumps


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as consumed from a raw topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


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
    message: RawMessage,
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
        return Routed(
            signals_topic, key, signal_to_json(signal), signal.event_id, None, signal.occurred_at
        )
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


def dead_letter(
    message: RawMessage, code: str, text: str, *, dlq_topic: str, now: datetime
) -> Routed:
    """A DLQ record that keeps the original bytes and where they came from."""
    payload, encoding = _payload_text(message.value or b"")
    record = DlqRecord(
        reason={"code": str(code), "message": text},
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        received_at=now,
        payload=payload,
        payload_encoding=encoding,
    )
    return Routed(dlq_topic, message.key, dumps(record.model_dump(mode="json")), None, str(code))


def _payload_text(raw: bytes) -> tuple[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
    if "\x00" in text:
        return base64.b64encode(raw).decode("ascii"), "base64"
    return text, "utf-8"
