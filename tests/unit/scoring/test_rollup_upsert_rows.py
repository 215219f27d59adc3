"""Which stored days the rollups upsert adds to by ``jsonb_set`` (one key) and which it
leaves to ``rollups_add`` (services/scoring/repository/rollups.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.domain.fold import fold_signals
from services.scoring.domain.signal_decode import decode_signal
from services.scoring.repository.rollups import single_key
from shared.contracts import signal_to_json

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def signal(n: int, account: str, source: str, type_: str, **fields: Any) -> bytes:
    at = AT + timedelta(minutes=n)
    body = {"event_id": f"e{n}", "account_id": account, "occurred_at": at.isoformat()}
    event = validate_object(source, body | {"type": type_, **fields}, now=at)
    return signal_to_json(to_signal(event, source, at))


def test_a_day_of_one_key_gives_that_key_and_its_sums() -> None:
    assert single_key({"usage\tused\t\t": [3, 4.5]}) == ("usage\tused\t\t", 3, 4.5)


def test_a_day_of_several_keys_or_none_is_left_to_rollups_add() -> None:
    assert single_key({"a": [1, 1.0], "b": [2, 0.0]}) is None
    assert single_key({}) is None


def test_a_quantity_that_is_not_finite_is_left_to_rollups_add() -> None:
    # stored as JSON null, which rollups_add sums as nothing; an addition would not
    assert single_key({"a": [1, math.nan]}) is None
    assert single_key({"a": [1, math.inf]}) is None


def test_a_live_batch_of_one_event_per_account_takes_the_one_key_path() -> None:
    events = [
        signal(1, "a", "usage", "used", user_id="u1", quantity=2.0),
        signal(2, "a", "usage", "used", user_id="u2"),
        signal(3, "b", "ticket", "opened", ticket_id="t", severity="urgent"),
    ]
    changes = fold_signals(decode_signal(value) for value in events)
    by_account = {account: single_key(counts) for (account, _d), counts in changes.rollups.items()}
    assert by_account == {
        "a": ("usage\tused\tused\t", 2, 3.0),
        "b": ("ticket\topened\t\turgent", 1, 0.0),
    }
