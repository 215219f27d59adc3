"""The accounts list's page cursor: a position in any sort order, stated by a pattern.

A cursor is ``<score>~<account id as hex UTF-8>``. It names a position, (score,
account id), and every string the pattern admits is one: the OpenAPI document
states the whole rule, so a request valid by the schema is never refused. The
score is the exact float (``repr``); a sort by account id ignores it. The id's
hex has no ``00`` byte (PostgreSQL text cannot hold NUL); bytes that are not
UTF-8 read as U+FFFD, still a position. Pure.
"""

from __future__ import annotations

SCORE = r"\d{1,3}(?:\.\d{1,17})?(?:e-\d{1,3})?"
HEX_ID = r"(?:[1-9a-f][0-9a-f]|0[1-9a-f]){1,512}"
PATTERN = rf"^{SCORE}~{HEX_ID}$"
MAX_LENGTH = 3 + 1 + 17 + 5 + 1 + 1024


def encode(score: float, account_id: str) -> str:
    return f"{float(score)!r}~{account_id.encode().hex()}"


def decode(cursor: str) -> tuple[float, str]:
    """(score, account id) of a cursor the pattern admits."""
    score, _, hex_id = cursor.partition("~")
    return float(score), bytes.fromhex(hex_id).decode("utf-8", errors="replace")
