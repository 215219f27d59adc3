"""The episodes list's page cursor: a position in either order, stated by a pattern.

A cursor is ``<key>~<episode id as hex UTF-8>``; the key is microseconds since
1970 (UTC) or ``end`` (an open episode with no due time sorts after every time).
It names a position, (time, episode id), and every string the pattern admits is
one: the queue of open episodes reads the time as a due time, the other lists as
an opening time. The OpenAPI document states the whole rule, so a request valid
by the schema is never refused. The id's hex has no ``00`` byte (PostgreSQL text
cannot hold NUL); bytes that are not UTF-8 read as U+FFFD, still a position. Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

END = "end"
KEY = rf"(?:\d{{1,16}}|{END})"
HEX_ID = r"(?:[1-9a-f][0-9a-f]|0[1-9a-f]){1,512}"
PATTERN = rf"^{KEY}~{HEX_ID}$"
MAX_LENGTH = 16 + 1 + 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode(at: datetime | None, episode_id: str) -> str:
    """``at``: the row's sort time (``None``: no due time, the end of the queue)."""
    key = END if at is None else str((at - _EPOCH) // timedelta(microseconds=1))
    return f"{key}~{episode_id.encode().hex()}"


def decode(cursor: str) -> tuple[datetime | None, str]:
    """(time or ``None`` for the end, episode id) of a cursor the pattern admits."""
    key, _, hex_id = cursor.partition("~")
    at = None if key == END else _EPOCH + timedelta(microseconds=int(key))
    return at, bytes.fromhex(hex_id).decode("utf-8", errors="replace")
