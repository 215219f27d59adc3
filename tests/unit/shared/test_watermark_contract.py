"""Watermark records on `signals`: told apart by header, never taken for a signal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts import signal_from_json
from shared.contracts.watermarks import (
    KIND_HEADER,
    WATERMARK_KIND,
    WatermarkRecord,
    is_watermark,
    watermark_from_json,
    watermark_to_json,
)

RECORD = WatermarkRecord(
    source="usage",
    raw_topic="usage.events",
    raw_partition=2,
    raw_partitions=4,
    signals_partition=1,
    signals_partitions=4,
    watermark=datetime(2026, 3, 1, 12, tzinfo=UTC),
    caught_up=False,
    emitted_at=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
)


def test_round_trip_and_header() -> None:
    assert watermark_from_json(watermark_to_json(RECORD)) == RECORD
    assert is_watermark([("other", b"x"), (KIND_HEADER, WATERMARK_KIND)])
    assert not is_watermark([]) and not is_watermark(None)
    assert not is_watermark([(KIND_HEADER, b"signal")])


def test_a_watermark_record_does_not_parse_as_a_signal() -> None:
    with pytest.raises(ValidationError):
        signal_from_json(watermark_to_json(RECORD))


def test_a_null_watermark_is_allowed_and_partitions_are_bounded() -> None:
    empty = RECORD.model_copy(update={"watermark": None})
    assert watermark_from_json(watermark_to_json(empty)).watermark is None
    with pytest.raises(ValidationError):
        WatermarkRecord.model_validate({**RECORD.model_dump(), "raw_partitions": 0})
