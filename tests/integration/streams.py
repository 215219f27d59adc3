"""Test workloads for ingest: valid events of every source and bad input of every kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.settings.common import TopicNames

NOW = datetime.now(UTC)


def valid_event(source: str, i: int) -> dict[str, Any]:
    base = {
        "event_id": f"{source}-{i}",
        "account_id": f"acct-{i % 97}",
        "occurred_at": (NOW - timedelta(minutes=i % 600)).isoformat(),
    }
    if source == "usage":
        return {**base, "type": "feature_used", "user_id": f"u{i % 13}", "feature": f"f{i % 9}"}
    if source == "ticket":
        return {**base, "type": "opened", "ticket_id": f"t{i}", "severity": "high"}
    if source == "payment":
        return {**base, "type": "invoice_paid", "invoice_id": f"i{i}", "amount": "99.00"}
    return {**base, "type": "nps", "score": i % 11, "user_id": f"u{i % 13}"}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def bad_payloads(n: int) -> list[tuple[str, bytes]]:
    """(expected reason code, payload) cycling through every kind of bad input."""
    good = valid_event("usage", 0)
    kinds: list[tuple[str, Any]] = [
        ("not_utf8", lambda i: b"\xff\xfe" + str(i).encode()),
        ("not_json", lambda i: f"{{oops {i}".encode()),
        ("not_object", lambda i: orjson.dumps([i])),
        (
            "missing_field",
            lambda i: orjson.dumps({**good, "event_id": f"m{i}", "user_id": None} | {}).replace(
                b',"user_id":null', b""
            ),
        ),
        ("wrong_type", lambda i: orjson.dumps({**good, "event_id": i})),
        ("invalid_value", lambda i: orjson.dumps({**good, "event_id": f"q{i}", "quantity": -1})),
        (
            "timestamp_without_offset",
            lambda i: orjson.dumps(
                {**good, "event_id": f"t{i}", "occurred_at": "2026-01-01T00:00:00"}
            ),
        ),
        (
            "timestamp_in_future",
            lambda i: orjson.dumps(
                {**good, "event_id": f"f{i}", "occurred_at": (NOW + timedelta(days=3)).isoformat()}
            ),
        ),
        ("id_too_long", lambda i: orjson.dumps({**good, "event_id": "x" * 129 + str(i)})),
        (
            "nul_character",
            lambda i: orjson.dumps({**good, "event_id": f"n{i}", "user_id": "a\x00"}),
        ),
        ("too_deep", lambda i: orjson.dumps({**good, "event_id": f"d{i}", "extra": _nested(12)})),
        (
            "unsupported_schema_version",
            lambda i: orjson.dumps({**good, "event_id": f"v{i}", "schema_version": 9}),
        ),
    ]
    out = [(kinds[i % len(kinds)][0], kinds[i % len(kinds)][1](i)) for i in range(n - 2)]
    big = {**good, "event_id": "big", "padding": "x" * 1_100_000}
    out += [("too_large", orjson.dumps({**big, "event_id": f"big{i}"})) for i in range(2)]
    return out


@dataclass
class MixedStream:
    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    valid_ids: set[str] = field(default_factory=set)
    bad_codes: dict[str, str] = field(default_factory=dict)  # message key -> reason code


def mixed_stream(topics: TopicNames, valid: int, invalid: int) -> MixedStream:
    stream = MixedStream()
    sources = topics.topic_of_source()
    names = list(sources)
    for i in range(valid):
        source = names[i % 4]
        event = valid_event(source, i)
        stream.valid_ids.add(event["event_id"])
        stream.messages.append((sources[source], event["account_id"].encode(), orjson.dumps(event)))
    for j, (code, payload) in enumerate(bad_payloads(invalid)):
        key = f"bad-{j}"
        stream.bad_codes[key] = code
        # interleave the bad ones through the stream
        stream.messages.insert(
            (j * 21) % len(stream.messages), (topics.usage, key.encode(), payload)
        )
    return stream
