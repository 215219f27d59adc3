"""Dead letters stay small whatever the poison message was."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from shared.consumer.dead_letter import (
    MAX_PAYLOAD_BYTES,
    Origin,
    bounded_key,
    dead_letter_bytes,
    dead_letter_record,
    key_text,
)
from shared.contracts import DlqRecord
from shared.kafka.clients import MAX_MESSAGE_BYTES

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def letter(value: bytes, key: bytes | None = b"k") -> tuple[bytes, DlqRecord]:
    record = dead_letter_record(
        Origin("usage.events", 3, 42, key, value),
        stage="ingest",
        code="not_json",
        message="m" * 100_000,
        received_at=NOW,
    )
    return dead_letter_bytes(record), record


def test_400_kb_of_control_bytes_gives_a_small_record_with_size_and_hash() -> None:
    poison = bytes(range(1, 32)) * 13_000
    raw, record = letter(poison)
    assert len(raw) < MAX_MESSAGE_BYTES // 10
    assert record.payload_truncated and record.payload_bytes == len(poison)
    assert record.payload_sha256 == hashlib.sha256(poison).hexdigest()
    assert record.payload_encoding == "base64"
    assert base64.b64decode(record.payload) == poison[:MAX_PAYLOAD_BYTES]
    assert len(record.reason.message) == 1000


def test_small_text_is_kept_whole_as_text() -> None:
    _, record = letter(b'{"event_id": "\xc3\xa9"}')
    assert record.payload == '{"event_id": "é"}' and record.payload_encoding == "utf-8"
    assert not record.payload_truncated and record.payload_bytes == 18


def test_text_cut_inside_a_character_stays_text() -> None:
    _, record = letter("é".encode() * MAX_PAYLOAD_BYTES)
    assert record.payload_encoding == "utf-8" and record.payload_truncated
    assert record.payload == "é" * (MAX_PAYLOAD_BYTES // 2)


def test_huge_keys_are_replaced_by_their_hash() -> None:
    assert bounded_key(b"acct-1") == b"acct-1"
    assert bounded_key(None) is None
    assert bounded_key(b"k" * 100_000) == hashlib.sha256(b"k" * 100_000).hexdigest().encode()


def test_the_outbox_key_is_text_postgresql_holds_whatever_the_key_bytes() -> None:
    assert key_text(b"acct-1") == "acct-1" and key_text(None) == ""
    for junk in (b"\x00", b"a\x00b", b"\xff\xfe", b"k" * 100_000):
        text = key_text(junk)
        assert text == hashlib.sha256(junk).hexdigest(), junk[:8]


def test_a_reason_quoting_a_nul_or_a_lone_surrogate_is_storable_text() -> None:
    record = dead_letter_record(
        Origin("signals", 0, 1, b"\x00", b"{}"),
        stage="scoring",
        code="handler_error",
        message="input_value='a\x00b\ud800'",
        received_at=NOW,
    )
    assert "\x00" not in record.reason.message
    record.reason.message.encode("utf-8")  # no lone surrogate left
    assert record.reason.message.startswith("input_value='a\ufffdb")
