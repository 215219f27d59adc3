"""The health change: when a new score is one, its id, the facts it carries, and the
message itself. Pure: the one place the ``health.changes`` message is made.

Besides the score, a health change carries the account facts playbooks read; a facts
change alone (a renewal date moved, seats filled up) is published too, even when the
score did not move. The usage facts are published coarse, on a :class:`FactGrid`, so
that they change rarely: most scores publish nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args

from services.scoring.domain.account_state import AccountFacts, AccountRow
from services.scoring.domain.components import UsageFacts
from services.scoring.domain.model import Health
from shared.contracts.fields import plain_decimal
from shared.contracts.outputs import Fact

HEALTH_CHANGE_NAMESPACE = uuid.UUID("8f7d2c1e-5b0a-4c3e-9a61-2d4f0e7b9c11")
FACTS_NAMESPACE = uuid.UUID("1c6f0b8e-4a7d-4f0e-8b7e-5d2a9c3e6f41")

# the facts playbooks read, in the contract's order (ids hash them in this order); the
# usage ones are coarse so that they change rarely (see ``FactGrid``)
FACT_NAMES: tuple[str, ...] = get_args(Fact)


@dataclass(frozen=True, slots=True)
class FactGrid:
    """How coarse the usage facts are published. A playbook reading them sees a crossing
    of its threshold at the grid step at or above it: a threshold on the grid is seen
    exactly, one between two steps at the next step up.

    ``seat_use``: users active in 30 days over seats, in ``1/seat_use_steps`` of the
    seats (0 to ``seat_use_steps``). ``usage_trend``: the usage ratios to the baseline
    in steps of ``usage_trend_step`` from 1, capped at ``usage_trend_cap``; a fall is not
    an expansion signal and reads as 1.
    """

    seat_use_steps: int = 10
    usage_trend_step: float = 0.15
    usage_trend_cap: float = 2.0


DEFAULT_GRID = FactGrid()


def is_health_change(
    previous_score: float | None, previous_band: str | None, score: float, band: str, step: float
) -> bool:
    """A first score, a band change, or a move of at least ``step`` points."""
    if previous_score is None or previous_band is None:
        return True
    return band != previous_band or abs(score - previous_score) >= step


def health_change_id(account_id: str, as_of: datetime, score: float, band: str) -> str:
    """Deterministic: the same state scored at the same time gives the same id."""
    return str(
        uuid.uuid5(HEALTH_CHANGE_NAMESPACE, f"{account_id}|{as_of.isoformat()}|{score}|{band}")
    )


def account_facts(
    account: AccountFacts,
    segment: str,
    usage: UsageFacts | None = None,
    playbook_signals: tuple[int | None, ...] = (),
    grid: FactGrid = DEFAULT_GRID,
) -> dict[str, Any]:
    """The facts playbooks read, as JSON values (compared with the last published)."""
    return {
        # where each custom playbook's value stands against its thresholds (0, 1, 2)
        "playbook_signals": list(playbook_signals) or None,
        "seat_use": _seat_use(account.seats, usage, grid),
        "usage_trend": _usage_trend(usage, grid),
        "segment": segment,
        "arr": None if account.arr is None else str(account.arr),
        "seats": account.seats,
        "renewal_at": _iso(account.renewal_at),
        "subscription_started_at": _iso(account.started_at),
        "canceled": account.canceled_at is not None,
        "first_value_at": _iso(account.first_value_at),
    }


def facts_changed(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """Names of the facts that differ from the last published ones (all set ones at first)."""
    before = previous or {}
    return [
        n for n in FACT_NAMES if before.get(n) != current.get(n) and (previous or current.get(n))
    ]


def facts_change_id(health_event_id: str, facts: Mapping[str, Any]) -> str:
    """A facts change at an unchanged score and time still gets an id of its own."""
    # a fact that no scorecard sets leaves the id as it was before that fact existed
    named = [n for n in FACT_NAMES if n != "playbook_signals" or facts.get(n) is not None]
    text = health_event_id + "|" + "|".join(f"{n}={facts.get(n)}" for n in named)
    return str(uuid.uuid5(FACTS_NAMESPACE, text))


def health_change_message(
    account: AccountRow,
    health: Health,
    *,
    event_id: str,
    revision: int,
    as_of: datetime,
    facts_changed: list[str],
    explanation: Mapping[str, Any] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``health.changes`` message (``shared.contracts.HealthChange``) as plain data:
    the contract model validates it in tests; the hot path serializes it as it is."""
    usage = health.usage
    return {
        "event_id": event_id,
        "revision": revision,
        "account_id": account.account_id,
        "explanation": explanation,
        "as_of": as_of,
        "score": health.score,
        "previous_score": account.score,
        "band": health.band,
        "previous_band": account.band,
        "segment": health.segment,
        "components": health.components,
        "coverage": health.coverage,
        "reasons": health.reasons,
        "model_version": health.model_version,
        "facts_changed": facts_changed,
        "account": {
            "arr": None if account.arr is None else plain_decimal(account.arr),
            "seats": account.seats,
            "renewal_at": account.renewal_at,
            "subscription_started_at": account.started_at,
            "canceled": account.canceled_at is not None,
            "first_value_at": account.first_value_at,
            "active_users_7d": usage.active_users_7d,
            "active_users_30d": usage.active_users_30d,
            "usage_ratio_to_baseline": usage.ratio_to_baseline,
            "usage_ratio_14d_to_baseline": usage.ratio_14d_to_baseline,
        },
        **extra,
    }


def _seat_use(seats: int | None, usage: UsageFacts | None, grid: FactGrid) -> int | None:
    if not seats or usage is None:
        return None
    steps = grid.seat_use_steps
    return min(steps, int(steps * usage.active_users_30d / seats))


def _usage_trend(usage: UsageFacts | None, grid: FactGrid) -> list[float] | None:
    """Two values, of what a usage playbook reads: the lower of the 7- and 14-day ratios
    (both over a threshold) and the 14-day one (it holds while that stays over; the
    7-day one while there is no 14-day one yet)."""
    if usage is None:
        return None
    r7, r14 = usage.ratio_to_baseline, usage.ratio_14d_to_baseline
    known = [r for r in (r7, r14) if r is not None]
    if not known:
        return None
    held = r14 if r14 is not None else min(known)
    return [_step(min(known), grid), _step(held, grid)]


def _step(ratio: float, grid: FactGrid) -> float:
    size = grid.usage_trend_step
    steps = max(0, math.floor(round((ratio - 1) / size, 6)))
    return round(min(grid.usage_trend_cap, 1 + size * steps), 2)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()
