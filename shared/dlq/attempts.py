"""How a redriven record says which attempt it is: Kafka headers. Pure.

A redrive (:mod:`shared.dlq.redrive`) sends a dead letter's original bytes back
to the topic they were consumed from with ``vigil-attempt`` set to the attempt
it starts; a stage that dead-letters the record again writes that number into
the new dead letter's ``attempt``. A record without the header is a first attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

ATTEMPT_HEADER = "vigil-attempt"
REDRIVE_HEADER = "vigil-redrive"  # the redrive's id, for tracing
MAX_ATTEMPT = 1000


def attempt_of(headers: Sequence[tuple[str, bytes]] | None) -> int:
    """The attempt a consumed record is (1 unless a redrive said otherwise)."""
    for name, value in headers or ():
        if name == ATTEMPT_HEADER:
            try:
                return min(MAX_ATTEMPT, max(1, int(value.decode("ascii"))))
            except (UnicodeDecodeError, ValueError):
                return 1  # a foreign header must not change what we count
    return 1


def redrive_headers(attempt: int, redrive_id: str) -> list[tuple[str, bytes]]:
    return [(ATTEMPT_HEADER, str(attempt).encode()), (REDRIVE_HEADER, redrive_id.encode())]
