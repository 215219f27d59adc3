"""Field types shared by the contracts: ids, timestamps, canonical names, money.

Each validator raises a ``PydanticCustomError`` whose type is the reason code
ingest reports (``id_too_long``, ``timestamp_without_offset``, ``wrong_type``…).

Every type is bounded so that whatever a contract accepts fits the database
column it lands in and the model's arithmetic: timestamps and dates in a sane
window (date arithmetic near year 1 or 9999 overflows), money with bounded
digits and scale (``numeric`` is unbounded, the model is not), ints in int32
where the column is ``integer``, floats finite and bounded.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 4096
# Times the model can do date arithmetic on (it subtracts and adds days and
# windows); the upper bound leaves room for renewal dates years ahead.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
INT32_MAX = 2_147_483_647
# Money: at most 15 digits before the point and 4 after (1e15 of any currency
# sums over years without losing cents in numeric or in a float).
MONEY_MAX_INTEGER_DIGITS = 15
MONEY_MAX_SCALE = 4
MONEY_MAX_INPUT_CHARS = 64


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
    if "\x00" in stripped:  # PostgreSQL text cannot hold NUL
        raise PydanticCustomError("nul_character", "must not contain NUL")
    return stripped


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                # pydantic fills {name} only: no format spec, so the quoting is done here
                "invalid_value",
                "is not an RFC 3339 timestamp: {value}",
                {"value": repr(value[:40])},
            ) from None
    else:
        raise PydanticCustomError(
            "wrong_type", "must be an RFC 3339 timestamp string, got {kind}", {"kind": _kind(value)}
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timestamp_without_offset", "timestamp must include a UTC offset (e.g. Z or +02:00)"
        )
    # the year check comes first: 0001-01-01T00:00+01:00 overflows in astimezone()
    if not EARLIEST.year <= parsed.year < LATEST.year:
        raise _out_of_window(parsed.isoformat())
    utc = parsed.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        raise _out_of_window(utc.isoformat())
    return utc


def _out_of_window(shown: str) -> PydanticCustomError:
    return PydanticCustomError(
        "out_of_range",
        "must be between {low} and {high}, got {value}",
        {"low": EARLIEST.date().isoformat(), "high": LATEST.date().isoformat(), "value": shown},
    )


def _date(value: Any) -> date:
    parsed: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) != 10:
            return _timestamp(text).date()
        with contextlib.suppress(ValueError):  # reported below as not a date
            parsed = date.fromisoformat(text)
    if parsed is None:
        raise PydanticCustomError("invalid_value", "must be a date (YYYY-MM-DD)")
    if not EARLIEST.date() <= parsed < LATEST.date():
        raise _out_of_window(parsed.isoformat())
    return parsed


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PydanticCustomError(
            "wrong_type", "must be a decimal string or a number, got {kind}", {"kind": _kind(value)}
        )
    text = str(value).strip()
    if len(text) > MONEY_MAX_INPUT_CHARS:  # before parsing: 200,000 digits cost time
        raise _money_out_of_range(f"{len(text)} characters")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PydanticCustomError("invalid_value", "is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise PydanticCustomError("invalid_value", "must be a finite number >= 0")
    if number != 0 and number.adjusted() >= MONEY_MAX_INTEGER_DIGITS:
        raise _money_out_of_range(f"{number.adjusted() + 1} digits before the point")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_MAX_SCALE:
        rounded = number.quantize(Decimal(1).scaleb(-MONEY_MAX_SCALE))
        if rounded != number:
            raise _money_out_of_range(f"{-exponent} digits after the point")
        number = rounded
    # plain notation from here on: 1.5E+5 becomes 150000 (see ``plain_decimal``)
    return Decimal(plain_decimal(number))


def _money_out_of_range(got: str) -> PydanticCustomError:
    return PydanticCustomError(
        "out_of_range",
        "must have at most {digits} digits before the point and {scale} after, got {got}",
        {"digits": MONEY_MAX_INTEGER_DIGITS, "scale": MONEY_MAX_SCALE, "got": got},
    )


def plain_decimal(number: Decimal) -> str:
    """A decimal as a plain string, never in exponent notation (``1.5E+5`` -> ``150000``)."""
    return format(number, "f")


def _bounded_text(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "wrong_type", "must be a string, got {kind}", {"kind": _kind(value)}
        )
    if len(value) > MAX_TEXT_LENGTH:
        raise PydanticCustomError(
            "too_long",
            "must be at most {limit} characters, got {n}",
            {"limit": MAX_TEXT_LENGTH, "n": len(value)},
        )
    return value


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
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with offset, from 2000-01-01 to before 2100-01-01",
        }
    ),
]
Day = Annotated[
    date,
    BeforeValidator(_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": "from 2000-01-01 to before 2100-01-01",
        }
    ),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(plain_decimal, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,15}(\.\d{1,4})?$"},
                {"type": "number", "minimum": 0, "exclusiveMaximum": 1e15},
            ]
        }
    ),
]
Text = Annotated[
    str,
    BeforeValidator(_bounded_text),
    WithJsonSchema({"type": "string", "maxLength": MAX_TEXT_LENGTH}),
]
Int32 = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)]
# A usage quantity: finite and bounded so that a day's sum stays far from overflow.
MAX_QUANTITY = 1e9
Quantity = Annotated[float, Field(strict=True, gt=0, le=MAX_QUANTITY, allow_inf_nan=False)]
CanonicalName = Annotated[
    str, BeforeValidator(canonical_name), WithJsonSchema({"type": "string", "minLength": 1})
]
