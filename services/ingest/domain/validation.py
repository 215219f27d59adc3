"""Validation and normalization of one raw event. Pure: bytes in, event or reason out.

Checks run cheapest first: size on the raw bytes, UTF-8, JSON, object,
nesting depth and NUL characters in one walk, then the contract model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from pydantic import ValidationError

from shared.contracts import RAW_EVENT_MODELS, SIGNAL_MODELS, RawEvent, Signal

FUTURE_TOLERANCE = timedelta(hours=24)


class ReasonCode(StrEnum):
    not_utf8 = "not_utf8"
    not_json = "not_json"
    not_object = "not_object"
    missing_field = "missing_field"
    wrong_type = "wrong_type"
    invalid_value = "invalid_value"
    timestamp_without_offset = "timestamp_without_offset"
    timestamp_in_future = "timestamp_in_future"
    id_too_long = "id_too_long"
    nul_character = "nul_character"
    too_deep = "too_deep"
    too_large = "too_large"
    unsupported_schema_version = "unsupported_schema_version"
    unknown_source = "unknown_source"
    out_of_range = "out_of_range"
    too_long = "too_long"


class InvalidEvent(Exception):
    """An event that breaks its contract; ``code`` is machine-readable."""

    def __init__(self, code: ReasonCode | str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message


def decode_event(
    source: str,
    raw: bytes,
    *,
    now: datetime,
    max_bytes: int = 1_048_576,
    max_depth: int = 8,
) -> RawEvent:
    """Parse and validate the bytes of one message from ``source``'s topic."""
    if len(raw) > max_bytes:
        raise InvalidEvent(ReasonCode.too_large, f"message of {len(raw)} bytes is over {max_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidEvent(ReasonCode.not_utf8, f"not UTF-8 at byte {error.start}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "recursion" in str(error).lower() or "depth" in str(error).lower():
            raise InvalidEvent(ReasonCode.too_deep, "JSON nested too deeply") from None
        raise InvalidEvent(ReasonCode.not_json, f"not JSON: {error}") from None
    return validate_object(source, data, now=now, max_depth=max_depth)


def validate_object(source: str, data: Any, *, now: datetime, max_depth: int = 8) -> RawEvent:
    """Validate already-parsed JSON against ``source``'s contract."""
    model = RAW_EVENT_MODELS.get(source)
    if model is None:
        raise InvalidEvent(ReasonCode.unknown_source, f"unknown source {source!r}")
    if not isinstance(data, dict):
        raise InvalidEvent(ReasonCode.not_object, f"event must be a JSON object, got {_kind(data)}")
    check_structure(data, max_depth)
    try:
        event = model.model_validate(data)
    except ValidationError as error:
        raise invalid_from(error) from None
    if event.occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidEvent(
            ReasonCode.timestamp_in_future,
            f"occurred_at: {event.occurred_at.isoformat()} is more than 24 h in the future",
        )
    return event


def check_structure(data: Any, max_depth: int) -> None:
    """Nesting depth and NUL characters, in one iterative walk (no recursion limit)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise InvalidEvent(ReasonCode.nul_character, f"{path or 'value'}: contains NUL")
        elif isinstance(value, dict):
            if depth > max_depth:
                raise InvalidEvent(ReasonCode.too_deep, f"nested deeper than {max_depth} levels")
            for key, item in value.items():
                if "\x00" in key:
                    raise InvalidEvent(ReasonCode.nul_character, "a field name contains NUL")
                stack.append((item, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            if depth > max_depth:
                raise InvalidEvent(ReasonCode.too_deep, f"nested deeper than {max_depth} levels")
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))


# pydantic error types -> reason codes; the custom ones already carry our codes
_TYPE_CODES = {
    "missing": ReasonCode.missing_field,
    "literal_error": ReasonCode.invalid_value,
    "greater_than": ReasonCode.invalid_value,
    "greater_than_equal": ReasonCode.invalid_value,
    "less_than_equal": ReasonCode.out_of_range,
    "less_than": ReasonCode.out_of_range,
    "finite_number": ReasonCode.out_of_range,
    "string_pattern_mismatch": ReasonCode.invalid_value,
}


def invalid_from(error: ValidationError) -> InvalidEvent:
    """The first error decides the code; the message names the field."""
    first = error.errors(include_url=False)[0]
    kind = str(first["type"])
    if kind in ReasonCode.__members__:
        code = ReasonCode(kind)
    else:
        code = _TYPE_CODES.get(
            kind, ReasonCode.wrong_type if kind.endswith("_type") else ReasonCode.invalid_value
        )
    field = ".".join(str(part) for part in first["loc"]) or "event"
    return InvalidEvent(code, f"{field}: {first['msg']}")


def to_signal(event: RawEvent, source: str, ingested_at: datetime) -> Signal:
    """The canonical signal: the normalized event, its source and when it was ingested."""
    model = SIGNAL_MODELS[source]
    data = event.model_dump()
    data["ingested_at"] = ingested_at
    data["source"] = source
    return model.model_validate(data)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )
