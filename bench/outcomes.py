"""How the demo population ends: who cancels and who renews. Pure and deterministic.

Realistic rather than perfect, so accuracy is informative and not 1.0: most
churning accounts cancel (a few are rescued), some declining ones do, a few
healthy and expanding ones churn for reasons the data cannot see (budget cut,
acquisition), most others renew. Onboarding accounts are too new to have an
outcome. Cancellations travel on the payment stream, as in production;
renewals come as labels from the CRM (``POST /v1/outcomes``), because the
simulated renewal dates lie after the simulated window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.support.workload import Workload

CHURN_SHARE = {"churning": 0.85, "declining": 0.40, "healthy": 0.05, "expanding": 0.02}
LAST_DAYS = 6  # outcomes fall in the last days of the window


@dataclass(frozen=True)
class PlannedOutcome:
    account_id: str
    kind: str  # churn | renewal
    on: date


def plan_outcomes(workload: Workload, *, seed: int) -> list[PlannedOutcome]:
    rng = random.Random(seed + 99)
    plan = []
    for account in workload.accounts:
        share = CHURN_SHARE.get(account.cohort)
        if share is None:
            continue  # onboarding: no outcome yet
        kind = "churn" if rng.random() < share else "renewal"
        day = (workload.end - timedelta(days=rng.uniform(0.5, LAST_DAYS))).date()
        plan.append(PlannedOutcome(account.account_id, kind, day))
    return plan


def cancellation_events(
    workload: Workload, plan: list[PlannedOutcome]
) -> list[tuple[str, dict[str, Any]]]:
    """A ``subscription_canceled`` payment event for every planned churn."""
    start = workload.end.replace(hour=0)
    out = []
    for p in plan:
        if p.kind != "churn":
            continue
        at = start - timedelta(days=(workload.end.date() - p.on).days) + timedelta(hours=10)
        body = {
            "event_id": f"{p.account_id}-cancel",
            "account_id": p.account_id,
            "occurred_at": at.isoformat(),
            "type": "subscription_canceled",
        }
        out.append(("payment", body))
    return out


def renewal_labels(plan: list[PlannedOutcome]) -> list[dict[str, str]]:
    """The CRM's renewals, as ``POST /v1/outcomes`` takes them."""
    return [
        {
            "account_id": p.account_id,
            "kind": "renewal",
            "date": p.on.isoformat(),
            "id": f"crm-renewal-{p.account_id}-{p.on.isoformat()}",
        }
        for p in plan
        if p.kind == "renewal"
    ]
