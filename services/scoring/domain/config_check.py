"""Before a health-model config is stored: it must score sample accounts. Pure.

Bounds on each field (``model_config.py``) catch most of what could break the
loops; scoring a few very different accounts at several times catches the rest
(a combination that overflows or gives a score outside 0-100).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.scoring.domain.account_state import AccountState, OpenTicket, OverdueInvoice, Response
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def sample_accounts(at: datetime = REFERENCE) -> list[AccountState]:
    """An empty account, a busy healthy one, a troubled one, a silent one."""
    busy = {(at - d * DAY).date(): (50, 1e6) for d in range(60)}
    return [
        AccountState(account_id="sample-empty", first_seen_at=at),
        AccountState(
            account_id="sample-healthy",
            first_seen_at=at - 800 * DAY,
            arr=Decimal("250000"),
            seats=40,
            started_at=at - 700 * DAY,
            daily_activity=busy,
            user_last_seen={f"u{i}": at - DAY for i in range(40)},
            feature_last_used={f"f{i}": at - DAY for i in range(12)},
            responses=(Response("nps", 10, at - 2 * DAY),),
            invoices_paid=(at - 5 * DAY,),
        ),
        AccountState(
            account_id="sample-troubled",
            first_seen_at=at - 400 * DAY,
            arr=Decimal("9000"),
            seats=10,
            last_downgrade_at=at - 3 * DAY,
            open_tickets=(OpenTicket("urgent", at - 2 * DAY, 3), OpenTicket("low", at - 90 * DAY)),
            reopens_recent=3,
            responses=(Response("nps", 0, at - DAY), Response("ces", 7, at - DAY)),
            payment_failures=(at - DAY, at - 2 * DAY),
            overdue_invoices=(OverdueInvoice("inv", at - 3000 * DAY),),
            score_history=((at - 7 * DAY, 90.0), (at - DAY, 20.0)),
        ),
        AccountState(
            account_id="sample-silent",
            first_seen_at=at - 3650 * DAY,
            arr=Decimal("1000"),
            daily_activity={(at - 3000 * DAY).date(): (1, 1.0)},
        ),
    ]


def check_health_config(config: HealthModelConfig) -> None:
    """Raise ``ValueError`` naming the sample when the config cannot score it sanely."""
    for state in sample_accounts():
        for later in (0, 1, 400):
            as_of = REFERENCE + later * DAY
            try:
                health = score(state, as_of, config)
            except (ArithmeticError, ValueError, KeyError, TypeError) as error:
                raise ValueError(f"scoring {state.account_id} fails: {error!r}") from None
            values = [health.score, *(v for v in health.components.values() if v is not None)]
            if not all(math.isfinite(v) and 0 <= v <= 100 for v in values):
                raise ValueError(f"scoring {state.account_id} gives values outside 0-100")
