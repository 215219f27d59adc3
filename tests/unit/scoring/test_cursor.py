"""The accounts list cursor: what it encodes comes back exactly, and every string its
OpenAPI pattern admits is a position (so a schema-valid request is never refused)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain import cursor


@pytest.mark.parametrize("score", [0.0, 100.0, 57.123456789012344, 1e-05, 1.2345678901234567e-05])
@pytest.mark.parametrize("account_id", ["acct-1", "ñandú/ü", "\U0001f600" * 128, "a~b"])
def test_a_cursor_gives_back_its_exact_position(score: float, account_id: str) -> None:
    encoded = cursor.encode(score, account_id)
    assert re.fullmatch(cursor.PATTERN, encoded) and len(encoded) <= cursor.MAX_LENGTH
    assert cursor.decode(encoded) == (score, account_id)


@given(st.from_regex(cursor.PATTERN, fullmatch=True))
def test_every_string_the_pattern_admits_is_a_position(text: str) -> None:
    score, account_id = cursor.decode(text)
    assert math.isfinite(score) and "\x00" not in account_id and account_id
