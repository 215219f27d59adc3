"""A small population for the console's browser tests, posted to ingest over HTTP.

``red``: an enterprise account going bad (failed payments, an overdue invoice, urgent
tickets, a detractor NPS, no usage after the first weeks). ``green``: busy and paying.
``XSS``: an account whose id, and whose survey comment, are script tags.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

RED = "acme-red-001"
GREEN = "globex-green-001"
# no "/" in it: the services route an account id as one path segment
XSS = "<img src=x onerror=alert(1)><script>alert(1)"
XSS_COMMENT = "<script>document.title='pwned'</script><b>bold?</b>"
_ids = itertools.count()


def _event(source: str, account: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "source": source,
        "event_id": f"console-{next(_ids)}-{account[:8]}",
        "account_id": account,
        "occurred_at": at.isoformat(),
        **fields,
    }


def subscription(account: str, at: datetime, arr: str, seats: int) -> dict[str, Any]:
    renewal = (at + timedelta(days=120)).date().isoformat()
    return _event(
        "payment",
        account,
        at,
        type="subscription_started",
        arr=arr,
        seats=seats,
        plan="pro",
        currency="USD",
        renewal_at=renewal,
    )


def usage(account: str, at: datetime, users: int, features: int) -> list[dict[str, Any]]:
    return [
        _event("usage", account, at + timedelta(minutes=u), type=f"feature_{f}", user_id=f"u{u}")
        for u in range(users)
        for f in range(features)
    ]


def healthy_start(now: datetime) -> list[dict[str, Any]]:
    """Weeks ago: every account started and busy (a first point on each history)."""
    start = now - timedelta(days=40)
    out = [subscription(RED, start, "150000", 40), subscription(GREEN, start, "60000", 10)]
    out.append(subscription(XSS, start, "8000", 3))
    for day in range(0, 35, 3):
        at = start + timedelta(days=day)
        out += usage(RED, at, 6, 5) + usage(GREEN, at, 9, 8) + usage(XSS, at, 2, 3)
    return out


# a cohort with outcomes, so the model page has an accuracy report: the quiet half churns
COHORT = [f"cohort-{i:02d}" for i in range(40)]


def cohort(now: datetime) -> list[dict[str, Any]]:
    start = now - timedelta(days=50)
    out = [subscription(a, start, "12000", 5) for a in COHORT]
    for i, account in enumerate(COHORT):
        busy = i % 2 == 0
        for day in range(0, 46, 3):
            out += usage(account, start + timedelta(days=day), 4 if busy else 1, 4 if busy else 1)
        if not busy:  # the ones that will churn also fail to pay, more of them further down
            for n in range(1 + i % 3):
                at = start + timedelta(days=2, hours=n)
                out.append(_event("payment", account, at, type="payment_failed", invoice_id="i"))
    return out


def outcomes(now: datetime) -> list[dict[str, str]]:
    return [
        {"account_id": a, "kind": "renewal" if i % 2 == 0 else "churn", "date": str(now.date())}
        for i, a in enumerate(COHORT)
    ]


def going_bad(now: datetime) -> list[dict[str, Any]]:
    """The last hours: the red account's payments fail, tickets pile up, a detractor
    (within the day: playbooks open for a state near the wall clock, not for history)."""
    at = now - timedelta(hours=3)
    out = [
        _event("payment", RED, at, type="payment_failed", invoice_id="inv-1", amount="12500"),
        _event("payment", RED, at + timedelta(hours=1), type="payment_failed", invoice_id="inv-1"),
        _event(
            "payment",
            RED,
            at + timedelta(hours=2),
            type="invoice_overdue",
            invoice_id="inv-1",
            amount="12500",
            due_at=(now - timedelta(days=20)).isoformat(),
        ),
        _event("survey", RED, at, type="nps", score=0, user_id="u1", comment="we are leaving"),
        _event("survey", XSS, at, type="nps", score=9, user_id="u1", comment=XSS_COMMENT),
    ]
    for n in range(4):
        out.append(
            _event(
                "ticket",
                RED,
                at + timedelta(minutes=n),
                type="opened",
                ticket_id=f"t{n}",
                severity="urgent",
            )
        )
    for day in range(0, 3):
        out += usage(GREEN, now - timedelta(days=day, hours=4), 9, 8)
    return out


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def segment(account: str) -> str:
    return quote(account, safe="")
