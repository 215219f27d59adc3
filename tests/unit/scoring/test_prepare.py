"""Signals decoded ahead of their transaction are the ones the transaction would decode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.scoring import handler as handler_module
from services.scoring import prepared as prepared_module
from services.scoring.domain.fold import fold_signals
from services.scoring.domain.signal_decode import decode_signal
from services.scoring.handler import SignalBatchHandler
from services.scoring.metrics import ScoringMetrics
from services.scoring.prepared import first_of_each, prepare_batch
from tests.unit.scoring.test_signal_decode import usage, workload_signals


def records(values: list[bytes], first_offset: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord("signals", 0, first_offset + i, 0, 0, None, v, None, 0, len(v), ())
        for i, v in enumerate(values)
    ]


def new_handler() -> SignalBatchHandler:
    # only decoding is exercised: no scorer, no watermark step
    nothing: Any = object()
    return SignalBatchHandler(
        nothing, ScoringMetrics.new(), now=lambda: datetime.now(UTC), watermarks=nothing
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every decode the handler does, in order."""
    seen: list[bytes] = []

    def counting(data: bytes) -> Any:
        seen.append(data)
        return decode_signal(data)

    monkeypatch.setattr(handler_module, "decode_signal", counting)
    monkeypatch.setattr(prepared_module, "decode_signal", counting)
    yield seen


def test_prepared_records_are_not_decoded_again(decodes: list[bytes]) -> None:
    batch = records(workload_signals()[:300])
    handler = new_handler()
    asyncio.run(handler.prepare(batch))
    assert len(decodes) == len(batch)
    parsed = handler._parse(batch)
    assert len(decodes) == len(batch)  # every one taken from what prepare decoded
    assert parsed == [decode_signal(r.value or b"") for r in batch]


def test_a_record_prepare_could_not_decode_still_fails_in_the_transaction(
    decodes: list[bytes],
) -> None:
    bad = usage(occurred_at="not a time", source="nowhere")
    batch = records([*workload_signals()[:3], bad])
    handler = new_handler()
    asyncio.run(handler.prepare(batch))
    with pytest.raises(ValidationError):
        handler._parse(batch)
    assert decodes.count(bad) == 2  # once ahead, once again where it raises
    assert handler._parse(batch[:3]) == [decode_signal(r.value or b"") for r in batch[:3]]


def test_records_fetched_after_prepare_are_decoded_in_the_transaction(
    decodes: list[bytes],
) -> None:
    values = workload_signals()[:10]
    handler = new_handler()
    asyncio.run(handler.prepare(records(values[:6])))
    batch = records(values)  # the batch topped up with four more before it applied
    parsed = handler._parse(batch)
    assert decodes == [*values[:6], *values[6:]]
    assert parsed == [decode_signal(v) for v in values]


def test_only_the_applying_and_the_next_batch_are_kept(decodes: list[bytes]) -> None:
    values = workload_signals()[:9]
    batches = [records(values[i : i + 3], first_offset=i) for i in (0, 3, 6)]
    handler = new_handler()
    for batch in batches:
        asyncio.run(handler.prepare(batch))
    decodes.clear()
    handler._parse([*batches[1], *batches[2]])
    assert decodes == []
    handler._parse(batches[0])
    assert decodes == values[:3]


def test_the_prepared_fold_is_the_fold_of_each_event_once() -> None:
    values = workload_signals()[:400]
    batch = records([*values, *values[:50]])  # the first 50 again, as a producer's retry
    prepared = asyncio.run(prepare_batch(batch))
    signals = [decode_signal(v) for v in values]
    assert prepared.first == first_of_each(signals)
    assert prepared.folded == fold_signals(signals)
    assert prepared.made_from(batch)
    assert not prepared.made_from(batch[:-1])
    assert not prepared.made_from(records([*values, *values[:50]]))  # equal, not the same


def test_a_batch_with_a_record_that_does_not_decode_is_not_folded_ahead() -> None:
    batch = records([*workload_signals()[:5], usage(source="nowhere")])
    prepared = asyncio.run(prepare_batch(batch))
    assert len(prepared.decoded) == 5
    assert prepared.first is None
    assert prepared.folded is None


def test_the_claim_and_event_times_are_prepared_for_each_event_once() -> None:
    values = workload_signals()[:200]
    prepared = asyncio.run(prepare_batch(records(values + values[:50])))  # 50 sent twice
    assert prepared.first is not None and prepared.claim is not None
    signals = list(prepared.first.values())
    assert len(signals) == 200
    assert prepared.claim.accounts == [s.account_id for s in signals]
    assert prepared.claim.events == [s.event_id for s in signals]
    assert prepared.claim.occurred == [s.occurred_at for s in signals]
    assert prepared.occurred == [s.occurred_at.timestamp() for s in signals]
