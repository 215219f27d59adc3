"""The fast signal decoder reads exactly what the contract reads, or defers to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.domain.signal_decode import TrustedUsage, decode_signal
from shared.contracts import signal_from_json, signal_to_json
from tests.support.poison import poison_signals
from tests.support.workload import events, make_workload

END = datetime(2026, 6, 1, tzinfo=UTC)
USAGE_FIELDS = ("event_id", "account_id", "occurred_at", "ingested_at", "type", "user_id")


def workload_signals() -> list[bytes]:
    raw = events(make_workload(20, 30, seed=7, end=END), seed=7)
    return [signal_to_json(to_signal(validate_object(s, e, now=END), s, END)) for s, e in raw]


def same_as_contract(data: bytes) -> None:
    fast, slow = decode_signal(data), signal_from_json(data)
    if not isinstance(fast, TrustedUsage):
        assert fast == slow
        return
    assert slow.source == "usage"
    for name in (*USAGE_FIELDS, "feature", "quantity"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.occurred_at.tzinfo is UTC


def test_every_workload_signal_decodes_as_the_contract_does() -> None:
    signals = workload_signals()
    for data in signals:
        same_as_contract(data)
    fast = sum(isinstance(decode_signal(d), TrustedUsage) for d in signals)
    assert fast == sum(orjson.loads(d)["source"] == "usage" for d in signals) > 0


def usage(**fields: Any) -> bytes:
    base = {
        "source": "usage",
        "event_id": "e1",
        "account_id": "a1",
        "user_id": "u1",
        "type": "session_started",
        "occurred_at": "2026-05-01T10:00:00Z",
        "ingested_at": "2026-05-01T10:00:01Z",
    }
    return orjson.dumps({k: v for k, v in (base | fields).items() if v is not None})


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"feature": "reports"},
        {"quantity": 3},
        {"quantity": 2.5, "extra": {"kept": True}},
        {"occurred_at": "2026-05-01T12:00:00+02:00"},  # not UTC: the contract converts it
        {"account_id": " a1 "},  # the contract strips it
        {"type": "Session Started"},  # the contract canonicalizes it
        {"feature": "Big-Report"},
        {"schema_version": 1},
        {"occurred_at": "2026-05-01T10:00:00.123456+00:00"},
    ],
)
def test_usage_variants_read_as_the_contract_reads_them(fields: dict[str, Any]) -> None:
    same_as_contract(usage(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"quantity": 1e308},
        {"quantity": True},
        {"quantity": "2"},
        {"account_id": "a\u0000"},
        {"account_id": ""},
        {"event_id": "e" * 129},
        {"user_id": 7},
        {"occurred_at": "0001-01-01T00:00:00+01:00"},
        {"occurred_at": "2026-05-01T10:00:00"},  # no offset
        {"ingested_at": "yesterday"},
        {"schema_version": 2},
        {"schema_version": True},
        {"type": ""},
    ],
)
def test_what_the_contract_refuses_still_fails_with_its_error(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        decode_signal(usage(**fields))


def test_every_poison_signal_fails_with_the_contract_error() -> None:
    for kind, data in poison_signals():
        with pytest.raises(ValidationError):
            decode_signal(data)
        assert kind


def test_the_vocabulary_cache_never_holds_a_long_string() -> None:
    """Feature and type names are cached; a producer's megabyte-long names are not (the
    cache is bounded in entries, and so in size only if its keys are)."""
    from services.scoring.domain import signal_decode

    usage = next(b for b in map(orjson.loads, workload_signals()) if b["source"] == "usage")
    signal_decode._canonical_bounded.cache_clear()
    for i in range(50):
        body = dict(usage)
        body["feature"] = f"f{i}_" + "x" * 100_000
        with pytest.raises((ValidationError, ValueError)):
            decode_signal(orjson.dumps(body))
    assert signal_decode._canonical_bounded.cache_info().currsize <= 2  # the type, at most
