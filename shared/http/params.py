"""Request values every service reads the same way: times, strict RFC 3339 and
near the service's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from shared.clock.periodic import Now, utc_now
from shared.errors import (
    InvalidInput,
)


def require_near_now(
    name: str,
    value: datetime,
    max_skew_s: float,
    any_time: bool,
    now: Now = utc_now,
) -> None:
    """A clock endpoint's time: with an offset, and within ``max_skew_s`` of ``now`` (the
    service's clock, the wall clock unless a test injects one).

    ``any_time`` (``VIGIL_CLOCK_ANY_TIME``, for tests and replays) lifts the window.
    """
    if value.tzinfo is None:
        raise InvalidInput(f"{name} must include a UTC offset")
    try:
        skew = abs((value - now()).total_seconds())
    except OverflowError:
        skew = float("inf")
    if not any_time and skew > max_skew_s:
        raise InvalidInput(
            f"{name} is {skew:.0f} s from the wall clock, over the {max_skew_s:.0f} s allowed"
            " (set VIGIL_CLOCK_ANY_TIME=true to allow any time, for tests and replays)"
        )


def _iso_datetime(value: Any) -> Any:
    # lax pydantic reads "0.5" or "-1e-07" as seconds since 1970; a time here is RFC 3339
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    if isinstance(value, str | int | float):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
