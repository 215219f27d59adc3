"""A dead letter as read back from its topic, and which ones a request selects. Pure."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from shared.contracts import DlqRecord

# sent: back to its stage; exhausted: at the attempt limit; truncated: only its start was
# kept; unreadable: not a dead-letter record; foreign_source: came from a topic the stage
# does not read; not_found: no such id; already_redriven: an earlier redrive sent it
Outcome = Literal[
    "sent",
    "exhausted",
    "truncated",
    "unreadable",
    "foreign_source",
    "not_found",
    "already_redriven",
]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of a dead-letter topic; ``record`` is None when it is not a DLQ record."""

    partition: int
    offset: int
    key: bytes | None
    record: DlqRecord | None

    @property
    def id(self) -> str:
        return f"{self.partition}/{self.offset}"

    def original_bytes(self) -> bytes:
        assert self.record is not None
        if self.record.payload_encoding == "base64":
            return base64.b64decode(self.record.payload)
        return self.record.payload.encode("utf-8")

    def why_not(self, max_attempts: int) -> Outcome | None:
        """Why this dead letter cannot be redriven (None: it can)."""
        if self.record is None:
            return "unreadable"
        if self.record.payload_truncated:
            return "truncated"  # only the start of the original was kept
        if self.record.attempt >= max_attempts:
            return "exhausted"
        return None


def _aware(at: datetime) -> datetime:
    """A time without an offset is UTC (a query string may leave it out)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def parse(partition: int, offset: int, key: bytes | None, value: bytes | None) -> DeadLetter:
    """Never raises: a record that is not a dead letter is kept as unreadable."""
    try:
        record = DlqRecord.model_validate(orjson.loads(value or b""))
    except (ValidationError, orjson.JSONDecodeError, TypeError):
        record = None
    return DeadLetter(partition, offset, key, record)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters: by ids (``partition/offset``), or by reason and time range."""

    ids: Sequence[str] | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, dead: DeadLetter) -> bool:
        if self.ids is not None:
            return dead.id in self.ids
        record = dead.record
        if record is None:
            return self.reason is None and self.since is None and self.until is None
        if self.reason is not None and record.reason.code != self.reason:
            return False
        received = _aware(record.received_at)
        if self.since is not None and received < _aware(self.since):
            return False
        return self.until is None or received < _aware(self.until)

    def as_json(self) -> dict[str, Any]:
        return {
            "ids": None if self.ids is None else list(self.ids),
            "reason": self.reason,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
        }
