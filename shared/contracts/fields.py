"""Field types shared by the contracts: ids, timestamps, canonical names, money.

Each validator raises a ``PydanticCustomError`` whose type is the reason code
ingest reports (``id_too_long``, ``timestamp_without_offset``, ``wrong_type``…).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_ID_LENGTH = 128


def _id(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "wrong_type", "must be a string, got {kind}", {"kind": _kind(value)}
        )
    stripped: str = value.strip()
    if not stripped:
        raise PydanticCustomError("invalid_value", "must not be empty")
    if len(stripped) > MAX_ID_LENGTH:
        raise PydanticCustomError(
            "id_too_long", "must be at most 128 characters, got {n}", {"n": len(stripped)}
        )
    return stripped


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "invalid_value", "is not an RFC 3339 timestamp: {value!r}", {"value": value[:40]}
            ) from None
    else:
        raise PydanticCustomError(
            "wrong_type", "must be an RFC 3339 timestamp string, got {kind}", {"kind": _kind(value)}
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timestamp_without_offset", "timestamp must include a UTC offset (e.g. Z or +02:00)"
        )
    return parsed.astimezone(UTC)


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else _timestamp(text).date()
        except ValueError:
            pass
    raise PydanticCustomError("invalid_value", "must be a date (YYYY-MM-DD)")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PydanticCustomError(
            "wrong_type", "must be a decimal string or a number, got {kind}", {"kind": _kind(value)}
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("invalid_value", "is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise PydanticCustomError("invalid_value", "must be a finite number >= 0")
    return number


def canonical_name(value: Any) -> str:
    """``"Session Started"`` -> ``"session_started"``."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "wrong_type", "must be a string, got {kind}", {"kind": _kind(value)}
        )
    name = "_".join(value.strip().lower().replace("-", " ").split())
    if not name:
        raise PydanticCustomError("invalid_value", "must not be empty")
    if len(name) > MAX_ID_LENGTH:
        raise PydanticCustomError(
            "id_too_long", "must be at most 128 characters, got {n}", {"n": len(name)}
        )
    return name


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


Id = Annotated[
    str, BeforeValidator(_id), WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 128})
]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "RFC 3339 with offset"}
    ),
]
Day = Annotated[date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date"})]
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(lambda d: str(d), return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
                {"type": "number", "minimum": 0},
            ]
        }
    ),
]
CanonicalName = Annotated[
    str, BeforeValidator(canonical_name), WithJsonSchema({"type": "string", "minLength": 1})
]
