"""A batch's work that needs no database, done before its transaction.

The consumer loop (``shared.consumer.loop``) hands the next batch to
:func:`prepare_batch` while the current batch's transaction runs; until then
the scoring process sat idle through every statement's round trip. Decoding,
picking each event once and folding are pure, so what is prepared here is
what the transaction would compute; it uses it only where it would have
computed it from the very same records (and, for the fold, when no signal of
the batch was a duplicate). Anything that fails to decode is left to the
transaction, which raises and isolates it as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.scoring.domain.fold import BatchChanges, fold_one, fold_order
from services.scoring.domain.signal_decode import ScoringSignal, decode_signal
from services.scoring.repository.writes import ClaimColumns
from shared.contracts.watermarks import is_watermark

RecordKey = tuple[str, int, int]  # topic, partition, offset
EventKey = tuple[str, str]  # account id, event id
# signals handled between two yields to the event loop: ~0.5 ms, so the previous
# batch's statements are answered about as soon as PostgreSQL replies
SLICE = 100


@dataclass
class PreparedBatch:
    records: list[ConsumerRecord]  # the signal records, in batch order
    decoded: dict[RecordKey, ScoringSignal] = field(default_factory=dict)
    # each event once and the batch folded; None when a record did not decode
    first: dict[EventKey, ScoringSignal] | None = None
    claim: ClaimColumns | None = None  # ``first`` as the dedupe claim's arrays
    occurred: list[float] | None = None  # ``first``'s event times, epoch seconds
    folded: BatchChanges | None = None

    def made_from(self, records: Sequence[ConsumerRecord]) -> bool:
        """Prepared from exactly ``records`` (the same objects, in the same order)."""
        return len(records) == len(self.records) and all(
            a is b for a, b in zip(records, self.records, strict=True)
        )


async def prepare_batch(records: Sequence[ConsumerRecord]) -> PreparedBatch:
    prepared = PreparedBatch([r for r in records if not is_watermark(r.headers)])
    signals: list[ScoringSignal] = []
    for start in range(0, len(prepared.records), SLICE):
        for record in prepared.records[start : start + SLICE]:
            try:
                signal = decode_signal(record.value or b"")
            except (ValidationError, ValueError):
                continue  # decoded again, and raised, in the transaction
            prepared.decoded[record_key(record)] = signal
            signals.append(signal)
        await asyncio.sleep(0)
    if len(signals) < len(prepared.records):
        return prepared
    prepared.first = first = first_of_each(signals)
    prepared.claim = claim_of(first)
    prepared.occurred = [s.occurred_at.timestamp() for s in first.values()]
    await asyncio.sleep(0)
    changes = BatchChanges()
    ordered = fold_order(prepared.first.values())
    for start in range(0, len(ordered), SLICE):
        for signal in ordered[start : start + SLICE]:
            fold_one(changes, signal)
        await asyncio.sleep(0)
    prepared.folded = changes
    return prepared


def record_key(record: ConsumerRecord) -> RecordKey:
    return record.topic, record.partition, record.offset


def claim_of(first: dict[EventKey, ScoringSignal]) -> ClaimColumns:
    """Each event once, as the dedupe claim's arrays."""
    return ClaimColumns.of((a, e, s.occurred_at) for (a, e), s in first.items())


def first_of_each(signals: Sequence[ScoringSignal]) -> dict[EventKey, ScoringSignal]:
    """Each (account, event id) once, the first record of it, in batch order."""
    first: dict[EventKey, ScoringSignal] = {}
    for signal in signals:
        first.setdefault((signal.account_id, signal.event_id), signal)
    return first
