"""Dead-letter selection and redrive outcomes: pure parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.consumer.dead_letter import Origin, dead_letter_bytes, dead_letter_record
from shared.dlq.attempts import attempt_of, redrive_headers
from shared.dlq.records import DeadLetter, Selection, parse
from shared.dlq.redrive import dlq_topics, outcome_of
from shared.settings.common import TopicNames

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TOPICS = dlq_topics(TopicNames())


def letter(
    offset: int,
    *,
    source: str = "usage.events",
    attempt: int = 1,
    value: bytes = b"{}",
    code: str = "not_json",
    at: datetime = T0,
    cap: int = 64 * 1024,
) -> DeadLetter:
    origin = Origin(source, 0, offset, b"k", value)
    record = dead_letter_record(
        origin,
        stage="ingest",
        code=code,
        message="m",
        received_at=at,
        max_payload_bytes=cap,
        attempt=attempt,
    )
    return parse(0, offset, b"k", dead_letter_bytes(record))


def test_the_attempt_travels_in_a_header_and_a_foreign_one_counts_as_first() -> None:
    assert attempt_of(None) == 1
    assert attempt_of(redrive_headers(2, "r")) == 2
    assert attempt_of([("vigil-attempt", b"two")]) == 1
    assert attempt_of([("vigil-attempt", b"-5")]) == 1


def test_the_original_bytes_come_back_as_they_were() -> None:
    raw = b"\x00\x01 binary"
    assert letter(1, value=raw).original_bytes() == raw
    assert letter(2, value=b'{"a": 1}').original_bytes() == b'{"a": 1}'


def test_what_is_never_sent() -> None:
    ingest = TOPICS["ingest.dlq"]
    assert outcome_of(letter(1), ingest, 2) == "sent"
    assert outcome_of(letter(2, attempt=2), ingest, 2) == "exhausted"
    assert outcome_of(letter(3, value=b"x" * 10, cap=4), ingest, 2) == "truncated"
    assert outcome_of(letter(4, source="elsewhere"), ingest, 2) == "foreign_source"
    assert outcome_of(letter(5, source="signals"), ingest, 2) == "foreign_source"
    assert outcome_of(parse(0, 6, None, b"not a record"), ingest, 2) == "unreadable"


def test_selection_by_ids_or_reason_and_time() -> None:
    letters = [letter(i, code="a" if i % 2 else "b", at=T0 + timedelta(hours=i)) for i in range(6)]
    assert [d.id for d in letters if Selection(ids=["0/2", "0/9"]).matches(d)] == ["0/2"]
    by_reason = Selection(reason="a", since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=5))
    assert [d.offset for d in letters if by_reason.matches(d)] == [3]
    naive = Selection(since=datetime(2026, 3, 1, 4))  # no offset: UTC
    assert [d.offset for d in letters if naive.matches(d)] == [4, 5]
