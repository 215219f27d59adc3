"""Strings that PostgreSQL can store, for request bodies and configs.

PostgreSQL text and jsonb hold no NUL character, and a lone UTF-16 surrogate
cannot be encoded at all; either would fail at the database as a server error.
A pattern constraint makes pydantic refuse both with a 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
Label = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]


def storable(text: str, limit: int) -> str:
    """``text`` as PostgreSQL text can hold it, at most ``limit`` characters: a NUL or a lone
    surrogate becomes U+FFFD. For text a peer wrote (a receiver's answer, a record's key)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    bounded = text[:limit]
    if _has_surrogate(bounded):
        return bounded.encode("utf-8", "replace").decode("utf-8")
    return bounded


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
