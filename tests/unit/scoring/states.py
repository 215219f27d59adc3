"""Builders of account states for model tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.scoring.domain.account_state import AccountState

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def active_account(
    *,
    silent_days: int = 0,
    users: int = 20,
    seats: int | None = 30,
    features: int = 10,
    daily_events: int = 50,
    arr: int = 50_000,
    **overrides: Any,
) -> AccountState:
    """An account that used the product daily until ``silent_days`` ago."""
    last = NOW - timedelta(days=silent_days)
    return AccountState(
        account_id="acct",
        first_seen_at=NOW - timedelta(days=400),
        arr=Decimal(arr),
        seats=seats,
        daily_activity={
            (NOW - timedelta(days=d)).date(): (daily_events, float(daily_events))
            for d in range(silent_days, 40)
        },
        user_last_seen={f"u{u}": last - timedelta(hours=u) for u in range(users)},
        feature_last_used={f"f{f}": last - timedelta(hours=1) for f in range(features)},
        invoices_paid=(NOW - timedelta(days=10),),
        **overrides,
    )
