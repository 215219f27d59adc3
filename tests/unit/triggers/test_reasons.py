"""A playbook opens with the reason that opened it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.domain.playbooks import AccountView, onboarding

START = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize("first_value_at", [None, START - timedelta(days=3)])
def test_onboarding_opens_because_the_subscription_started(
    first_value_at: datetime | None,
) -> None:
    """Usage read before the start event had reached first value already: the episode
    still opens for the start, and says so (it said "first value reached")."""
    view = AccountView(
        account_id="a1",
        segment="smb",
        score=70.0,
        band="green",
        components={},
        first_seen_at=START - timedelta(days=5),
        as_of=START,
        started_at=START,
        first_value_at=first_value_at,
    )
    rules = PlaybookConfig().rules_for("smb")
    condition = onboarding(view, START + timedelta(hours=1), rules, latched=False)
    assert condition.active
    days = rules.onboarding_days
    until = (START + timedelta(days=days)).date()
    assert condition.reason == f"Subscription started 2026-03-01: onboarding until {until}"
    assert "first value" not in condition.reason
