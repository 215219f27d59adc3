"""Watermark records: how far in event time ingest has read each raw partition.

Ingest writes them onto every ``signals`` partition, inside the Kafka
transaction of the batch that moved them (and about once a second when idle).
They share the topic with signals without changing the signals contract: a
watermark record carries the header ``vigil-kind: watermark``, no key, and a
JSON object with ``kind: "watermark"`` and no ``account_id``/``event_id``, so a
consumer that ignores the header still fails to parse it as a signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.fields import Timestamp
from shared.contracts.signals import Source

KIND_HEADER = "vigil-kind"
WATERMARK_KIND = b"watermark"


class WatermarkRecord(BaseModel):
    """One raw partition's progress, as seen on one ``signals`` partition.

    ``watermark`` is the highest event time of a valid event read from the raw
    partition, or, when ``caught_up`` (read to its end and idle for a moment), at
    least ``emitted_at`` less the allowed lateness; null when nothing was read
    yet and the partition is not caught up (it holds time back). A report that
    is not caught up after one that was starts a new backlog: its watermark is
    what was read of that backlog, and may be lower than the one before.

    ``seen`` is the highest event time read, without the idle allowance (null
    when nothing was read, or from an older ingest): while another partition
    reads history, a caught-up one stands for what it has read, not for the
    wall clock.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["watermark"] = "watermark"
    source: Source
    raw_topic: str
    raw_partition: int = Field(ge=0)
    raw_partitions: int = Field(ge=1)
    signals_partition: int = Field(ge=0)
    signals_partitions: int = Field(ge=1)
    watermark: Timestamp | None
    caught_up: bool
    emitted_at: Timestamp
    seen: Timestamp | None = None


def is_watermark(headers: Sequence[tuple[str, bytes]] | None) -> bool:
    """Whether a ``signals`` record is a watermark record (by its header)."""
    return any(k == KIND_HEADER and v == WATERMARK_KIND for k, v in headers or ())


def watermark_to_json(record: WatermarkRecord) -> bytes:
    return orjson.dumps(record.model_dump(mode="json"))


def watermark_from_json(raw: bytes) -> WatermarkRecord:
    return WatermarkRecord.model_validate_json(raw)
