"""The health-change message, made in one module: it is the published contract, and
the usage facts follow the grid they are published on (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.scoring.domain.health_change import (
    FactGrid,
    account_facts,
    facts_changed,
    health_change_id,
    health_change_message,
)
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from shared.contracts import HealthChange
from shared.kafka.clients import dumps
from tests.unit.scoring.states import NOW, active_account


@dataclass(frozen=True)
class Row:
    """An ``accounts`` row, all of its fields (``AccountRow``)."""

    account_id: str = "acct"
    first_seen_at: datetime = NOW - timedelta(days=400)
    last_event_at: datetime = NOW
    arr: Decimal | None = Decimal("50000")
    seats: int | None = 30
    plan: str | None = "growth"
    attributes: dict[str, Any] | None = None
    started_at: datetime | None = NOW - timedelta(days=300)
    renewal_at: date | None = date(2026, 6, 1)
    canceled_at: datetime | None = None
    last_downgrade_at: datetime | None = None
    first_value_at: datetime | None = None
    score: float | None = 70.0
    band: str | None = "green"
    scored_as_of: datetime | None = NOW - timedelta(hours=1)
    health_revision: int = 3
    published_facts: dict[str, Any] | None = None
    overrides: list[dict[str, Any]] | None = field(default=None)


def test_the_message_is_a_valid_health_change_with_the_account_facts() -> None:
    account = Row()
    health = score(active_account(), NOW, HealthModelConfig())
    facts = account_facts(account, health.segment, health.usage)
    message = health_change_message(
        account,
        health,
        event_id=health_change_id(account.account_id, NOW, health.score, health.band),
        revision=account.health_revision + 1,
        as_of=NOW,
        facts_changed=facts_changed(None, facts),
        explanation=None,
        extra={},
    )
    change = HealthChange.model_validate_json(dumps(message))
    assert change.revision == 4
    assert change.previous_score == 70.0 and change.previous_band == "green"
    assert change.account.seats == 30
    assert change.account.active_users_30d == health.usage.active_users_30d
    assert "renewal_at" in change.facts_changed


def test_the_usage_facts_follow_the_grid_they_are_published_on() -> None:
    account = Row(seats=40)
    usage = score(active_account(users=34, seats=40), NOW, HealthModelConfig()).usage
    assert usage.active_users_30d == 34  # 85% of the seats
    assert account_facts(account, "smb", usage)["seat_use"] == 8  # tenths by default
    fine = FactGrid(seat_use_steps=20, usage_trend_step=0.05)
    assert account_facts(account, "smb", usage, grid=fine)["seat_use"] == 17  # twentieths
