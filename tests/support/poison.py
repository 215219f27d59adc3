"""The poison catalogue of issue 12, as raw events, signals and health changes.

Shared by the poison tests (tests/integration/test_poison.py) and `make soak` (bench/soak.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.ingest.domain.validation import to_signal, validate_object
from shared.contracts import AccountFacts, DlqRecord, HealthChange

NOW = datetime.now(UTC).replace(microsecond=0)
CONTROL_BYTES = bytes(range(1, 32)) * (400_000 // 31)  # ~400 KB, escapes six-fold in JSON


def raw_event(i: int, **fields: Any) -> dict[str, Any]:
    base = {
        "event_id": f"ev-{i}",
        "account_id": f"acct-{i % 5}",
        "occurred_at": NOW.isoformat(),
        "type": "session_started",
        "user_id": "u1",
    }
    return base | fields


def payment(i: int, **fields: Any) -> dict[str, Any]:
    return raw_event(i, type="subscription_started", **fields) | {"user_id": None}


def poison_raw() -> list[tuple[str, str, bytes]]:
    """(kind, source, bytes): every poison kind of the issue, as raw events."""
    return [
        ("seats over int32", "payment", _json(payment(1001, seats=2_147_483_648))),
        ("400 KB control bytes", "usage", CONTROL_BYTES),
        ("year-1 timestamp", "usage", _json(raw_event(1002, occurred_at="0001-01-01T00:00:00Z"))),
        (
            "year-1 with offset",
            "usage",
            _json(raw_event(1003, occurred_at="0001-01-01T00:00:00+01:00")),
        ),
        ("quantity 1e308 (1)", "usage", _json(raw_event(1004, quantity=1e308))),
        ("quantity 1e308 (2)", "usage", _json(raw_event(1005, quantity=1e308))),
        ("200,000-digit money", "payment", _json(payment(1006, arr="9" * 200_000))),
    ]


def good_signal(i: int) -> bytes:
    event = validate_object("usage", raw_event(i), now=NOW)
    return orjson.dumps(to_signal(event, "usage", NOW).model_dump(mode="json", exclude_none=True))


def poison_signals() -> list[tuple[str, bytes]]:
    """The same kinds as signals (what a foreign producer or an old ingest could write)."""
    base = orjson.loads(good_signal(0))

    def signal(i: int, **fields: Any) -> bytes:
        return _json(base | {"event_id": f"ps-{i}"} | fields)

    pay = base | {"source": "payment", "type": "subscription_started"}
    return [
        ("seats over int32", _json(pay | {"event_id": "ps-1", "seats": 2_147_483_648})),
        ("400 KB control bytes", CONTROL_BYTES),
        ("year-1 timestamp", signal(2, occurred_at="0001-01-01T00:00:00+01:00")),
        ("quantity 1e308 (1)", signal(3, quantity=1e308)),
        ("quantity 1e308 (2)", signal(4, quantity=1e308)),
        ("200,000-digit money", _json(pay | {"event_id": "ps-5", "arr": "9" * 200_000})),
        ("NUL in account id", signal(6, account_id="acct-\u0000")),
    ]


def health_change(i: int) -> HealthChange:
    return HealthChange(
        event_id=f"hc-{i}",
        account_id=f"acct-{i % 97}",
        as_of=NOW - timedelta(minutes=i % 600),
        score=80.0,
        previous_score=None,
        band="green",
        previous_band=None,
        segment="smb",
        components={"usage": 80.0, "adoption": 80.0},
        coverage=1.0,
        reasons=["steady"],
        model_version="t",
        account=AccountFacts(seats=10),
    )


def health_change_bytes(i: int) -> bytes:
    return health_change(i).model_dump_json().encode()


def poison_changes() -> list[tuple[str, bytes]]:
    """Health changes that break the contract, and one that passes it but fails the handler."""
    base = orjson.loads(health_change_bytes(0))
    return [
        # passes the contract; PostgreSQL refuses \\u0000 in jsonb: the handler fails
        (
            "handler fails (NUL in a jsonb key)",
            _json(
                base
                | {"event_id": "pc-1", "account_id": "acct-pc", "components": {"usage\u0000": 1.0}}
            ),
        ),
        ("400 KB control bytes", CONTROL_BYTES),
        ("year-1 as_of", _json(base | {"event_id": "pc-2", "as_of": "0001-01-01T00:00:00Z"})),
        ("score 1e308", _json(base | {"event_id": "pc-3", "score": 1e308})),
    ]


def sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def dead_letters(records: list[Any]) -> list[DlqRecord]:
    return [DlqRecord.model_validate_json(r.value) for r in records]


def _json(value: Any) -> bytes:
    return orjson.dumps(value)
