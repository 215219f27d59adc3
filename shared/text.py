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
