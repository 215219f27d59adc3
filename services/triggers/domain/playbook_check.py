"""Before a playbook config is stored: it must evaluate sample account views. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.triggers.domain.playbook_config import SEGMENTS, PlaybookConfig
from services.triggers.domain.playbooks import AccountView, evaluate

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def sample_views(at: datetime = REFERENCE) -> list[AccountView]:
    """One red, falling, renewing account and one green, growing, new one, in every segment."""
    views = []
    for segment in SEGMENTS:
        views.append(
            AccountView(
                account_id=f"sample-red-{segment}",
                segment=segment,
                score=10.0,
                band="red",
                components={"usage": 5.0, "adoption": 10.0},
                first_seen_at=at - 3650 * DAY,
                as_of=at,
                recent_scores=((at - 6 * DAY, 95.0), (at - DAY, 10.0)),
                seats=10,
                renewal_at=date(at.year, at.month, at.day) + 30 * DAY,
                started_at=at - 3000 * DAY,
            )
        )
        views.append(
            AccountView(
                account_id=f"sample-green-{segment}",
                segment=segment,
                score=95.0,
                band="green",
                components={"usage": 100.0, "adoption": 100.0},
                first_seen_at=at - DAY,
                as_of=at,
                seats=10,
                active_users_7d=10,
                usage_ratio=5.0,
                started_at=at - DAY,
            )
        )
    return views


def check_playbook_config(config: PlaybookConfig) -> None:
    """Raise ``ValueError`` naming the sample when the rules cannot evaluate it."""
    for view in sample_views():
        for later in (0, 1, 400):
            try:
                evaluate(view, REFERENCE + later * DAY, config)
            except (ArithmeticError, ValueError, KeyError, TypeError) as error:
                raise ValueError(f"evaluating {view.account_id} fails: {error!r}") from None
