"""Dead-letter records: bounded in size whatever the poison message was. Pure.

A record never exceeds the producer's request limit: the original payload is
kept up to :data:`MAX_PAYLOAD_BYTES`, with its full size, its SHA-256 and a
``payload_truncated`` flag; the reason and the key are bounded too. Text that
JSON would escape six-fold (control characters) is stored as base64. A key that
PostgreSQL text cannot hold (a NUL byte, not UTF-8) is carried as its SHA-256:
the dead letter is queued through the outbox, whose key column is text.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson

from shared.contracts import DlqRecord
from shared.text import storable

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_REASON_CHARS = 1000
MAX_KEY_BYTES = 1024
# Worst case: 64 KiB as base64 (~88 KB) + reason + origin: far under any limit.
_SAFE_CONTROL = {"\t", "\n", "\r"}

Stage = Literal["ingest", "scoring", "triggers"]


@dataclass(frozen=True, slots=True)
class Origin:
    """A message as consumed, where a dead letter says it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()  # a redrive's attempt travels here


def dead_letter_record(
    origin: Origin,
    *,
    stage: Stage,
    code: str,
    message: str,
    received_at: datetime,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    attempt: int = 1,
) -> DlqRecord:
    raw = origin.value or b""
    kept = raw[:max_payload_bytes]
    payload, encoding = payload_text(kept, truncated=len(kept) < len(raw))
    return DlqRecord(
        stage=stage,
        # the reason quotes the input (a validation error's value): text any store can hold
        reason={"code": storable(code, 64), "message": storable(message, MAX_REASON_CHARS)},
        source_topic=origin.topic,
        partition=origin.partition,
        offset=origin.offset,
        received_at=received_at,
        payload=payload,
        payload_encoding=encoding,
        payload_bytes=len(raw),
        payload_sha256=hashlib.sha256(raw).hexdigest(),
        payload_truncated=len(kept) < len(raw),
        attempt=attempt,
    )


def dead_letter_bytes(record: DlqRecord) -> bytes:
    # plain JSON already (mode="json"): orjson alone, no Kafka client imported by a pure module
    return orjson.dumps(record.model_dump(mode="json"))


def bounded_key(key: bytes | None) -> bytes | None:
    """The original key, or its SHA-256 when it is too long to carry."""
    if key is None or len(key) <= MAX_KEY_BYTES:
        return key
    return hashlib.sha256(key).hexdigest().encode("ascii")


def key_text(key: bytes | None) -> str:
    """The key as the outbox stores it (PostgreSQL text), whatever its bytes: the key
    itself when it is UTF-8 text without NUL and bounded, else its SHA-256 in hex (as
    :func:`bounded_key` does for a long key), so the dead letter can always be queued."""
    if key is None:
        return ""
    if len(key) <= MAX_KEY_BYTES and b"\x00" not in key:
        try:
            return key.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return hashlib.sha256(key).hexdigest()


def payload_text(raw: bytes, *, truncated: bool = False) -> tuple[str, Literal["utf-8", "base64"]]:
    """UTF-8 text when it is printable text, else base64 (control bytes escape six-fold)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        # a cut may split the last character; anything else is not text
        if not (truncated and error.start >= len(raw) - 3):
            return base64.b64encode(raw).decode("ascii"), "base64"
        text = raw[: error.start].decode("utf-8")
    if any(ch < " " and ch not in _SAFE_CONTROL for ch in text) or "\x7f" in text:
        return base64.b64encode(raw).decode("ascii"), "base64"
    return text, "utf-8"
