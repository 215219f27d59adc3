"""Every kind of bad input maps to its reason code; good input becomes a signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.ingest.domain.routing import Limits, route_message
from services.ingest.domain.validation import InvalidEvent, ReasonCode, decode_event, to_signal
from shared.consumer.dead_letter import Origin
from shared.contracts import signal_from_json

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD = {
    "event_id": "e1",
    "account_id": "a1",
    "occurred_at": "2026-03-01T11:00:00Z",
    "type": "Session Started",
    "user_id": "u1",
}


def raw(**overrides: object) -> bytes:
    return orjson.dumps({**GOOD, **overrides})


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    return value


BAD = [
    (b"\xff\xfe", ReasonCode.not_utf8),
    (b"{not json", ReasonCode.not_json),
    (b"[1, 2]", ReasonCode.not_object),
    (orjson.dumps({k: v for k, v in GOOD.items() if k != "user_id"}), ReasonCode.missing_field),
    (raw(account_id=7), ReasonCode.wrong_type),
    (raw(quantity=-1), ReasonCode.invalid_value),
    (raw(occurred_at="2026-03-01T11:00:00"), ReasonCode.timestamp_without_offset),
    (raw(occurred_at=(NOW + timedelta(hours=25)).isoformat()), ReasonCode.timestamp_in_future),
    (raw(event_id="e" * 129), ReasonCode.id_too_long),
    (raw(user_id="u\x00"), ReasonCode.nul_character),
    (raw(extra={"note": "a\x00b"}), ReasonCode.nul_character),
    (raw(extra=nested(10)), ReasonCode.too_deep),
    (b'{"a":' * 300 + b"1" + b"}" * 300, ReasonCode.too_deep),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, ReasonCode.too_deep),
    (raw(padding="x" * 1_100_000), ReasonCode.too_large),
    (raw(schema_version=3), ReasonCode.unsupported_schema_version),
]


@pytest.mark.parametrize(("payload", "code"), BAD)
def test_bad_input_gets_its_reason_code(payload: bytes, code: ReasonCode) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_event("usage", payload, now=NOW)
    assert caught.value.code == code
    assert caught.value.message


def test_unknown_enum_in_ticket_is_invalid_value() -> None:
    payload = orjson.dumps({**GOOD, "type": "escalated", "ticket_id": "t"})
    with pytest.raises(InvalidEvent) as caught:
        decode_event("ticket", payload, now=NOW)
    assert caught.value.code == ReasonCode.invalid_value
    assert caught.value.message.startswith("type:")


def test_good_input_becomes_a_normalized_signal() -> None:
    event = decode_event(
        "usage", raw(event_id="  e1 ", occurred_at="2026-03-01T13:00:00+02:00"), now=NOW
    )
    signal = to_signal(event, "usage", NOW)
    assert signal.source == "usage"
    assert signal.event_id == "e1"
    assert signal.occurred_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert signal.type == "session_started" and signal.feature == "session_started"


def test_route_message_keys_signals_by_account_and_dead_letters_with_origin() -> None:
    sources = {"usage.events": "usage"}
    good = route_message(
        Origin("usage.events", 2, 17, None, raw()),
        sources,
        signals_topic="signals",
        dlq_topic="dlq",
        now=NOW,
        limits=Limits(),
    )
    assert good.topic == "signals" and good.key == b"a1" and good.reason_code is None
    assert signal_from_json(good.value).event_id == "e1"
    bad = route_message(
        Origin("usage.events", 2, 18, b"k", b"\xff"),
        sources,
        signals_topic="signals",
        dlq_topic="dlq",
        now=NOW,
        limits=Limits(),
    )
    record = orjson.loads(bad.value)
    assert bad.topic == "dlq" and bad.reason_code == "not_utf8"
    assert record["source_topic"] == "usage.events"
    assert (record["partition"], record["offset"]) == (2, 18)
    assert record["payload_encoding"] == "base64" and record["payload"] == "/w=="
    assert record["reason"]["code"] == "not_utf8"
