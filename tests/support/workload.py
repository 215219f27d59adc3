"""A realistic, deterministic account population and its raw events. Pure.

Cohorts follow customer-success practice: healthy accounts use the product
broadly and pay; declining ones fade; churning ones stop using it, open urgent
tickets, fail payments and answer NPS as detractors; expanding ones press
against their seat limit with growing usage; onboarding ones just started.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

COHORTS = ("healthy", "declining", "churning", "expanding", "onboarding")
COHORT_WEIGHTS = (0.40, 0.15, 0.15, 0.15, 0.15)
SEGMENTS = {  # segment: (weight, ARR range, seats range)
    "enterprise": (0.15, (120_000, 600_000), (40, 100)),
    "mid_market": (0.25, (30_000, 95_000), (20, 50)),
    "smb": (0.30, (6_000, 24_000), (6, 20)),
    "self_serve": (0.30, (600, 4_800), (2, 6)),
}
FEATURES = (
    "dashboard",
    "report_export",
    "alerts",
    "integrations",
    "api",
    "sso",
    "automation",
    "sharing",
    "comments",
    "search",
    "billing_portal",
    "forecasting",
)
# What the playbooks mean, as DESIGN.md's table states it (the triggers' defaults).
ONBOARDING_DAYS = 30
RENEWAL_WINDOW_DAYS = {"enterprise": 180}
DEFAULT_RENEWAL_WINDOW_DAYS = 90
# Cohorts whose behaviour does not change over the window: more than one
# ``expansion`` or ``score_drop`` episode for one of them is flapping.
STEADY_COHORTS = ("healthy", "expanding")
# The custom-scorecard cohort: healthy accounts whose integration breaks, i.e. whose
# ``api_call`` usage stops for the last three weeks while every other use goes on.
API_CALL_SHARE = 0.3  # of usage events (and each day's first), with integrations
INTEGRATION_BROKEN_SHARE = 0.3  # of healthy accounts
INTEGRATION_BROKEN_DAYS = 21
CUSTOM_PLAYBOOK = "integration_broken"
# Each account's region, an extra field of its subscription events that only a
# scorecard declaring it reads; the custom playbook has a copy for one region.
REGIONS = ("amer", "emea", "apac")
REGIONAL = "apac"
REGIONAL_PLAYBOOK = f"{CUSTOM_PLAYBOOK}_{REGIONAL}"
Label = bool | None  # True: must hold; False: a false alarm; None: the cohort does not decide


@dataclass(frozen=True)
class Account:
    account_id: str
    cohort: str
    segment: str
    arr: int
    seats: int
    started_at: datetime
    renewal_at: date
    integration_broken: bool = False
    region: str = REGIONS[0]


@dataclass(frozen=True)
class Workload:
    accounts: list[Account]
    start: datetime
    end: datetime
    # a share of usage is ``api_call``, and some healthy accounts' integration breaks
    integrations: bool = False

    def ground_truth(self) -> dict[str, dict[str, Any]]:
        return {
            a.account_id: {
                "cohort": a.cohort,
                "segment": a.segment,
                "arr": a.arr,
                "seats": a.seats,
                "region": a.region,
            }
            for a in self.accounts
        }

    def expected_playbooks(self, now: datetime | None = None) -> dict[str, dict[str, Label]]:
        """Per account and playbook, whether an episode should be open at ``now``.

        ``now`` defaults to the end of the history. ``None`` means either answer is
        right (a declining account may or may not be red yet); precision and recall
        count only the definite labels.
        """
        at = now or self.end
        expected = {a.account_id: expected_for(a, at) for a in self.accounts}
        if self.integrations:
            for a in self.accounts:
                expected[a.account_id][CUSTOM_PLAYBOOK] = integration_label(a)
                # the regional copy applies to its region's segments only
                regional = integration_label(a) if a.region == REGIONAL else False
                expected[a.account_id][REGIONAL_PLAYBOOK] = regional
        return expected


def integration_label(a: Account) -> Label:
    """Must the custom playbook hold: yes for a broken integration; a false alarm for
    the steady cohorts (their API calls go on); either for the others, whose API
    calls fade or stop with the rest of their usage (churning, declining) or have
    barely begun (onboarding)."""
    if a.integration_broken:
        return True
    return False if a.cohort in STEADY_COHORTS else None


def expected_for(a: Account, now: datetime) -> dict[str, Label]:
    """The ground truth of one account at ``now``; see :meth:`Workload.expected_playbooks`."""
    c = a.cohort
    started_recently = a.started_at <= now < a.started_at + timedelta(days=ONBOARDING_DAYS)
    return {
        "at_risk": True if c == "churning" else None if c == "declining" else False,
        "score_drop": False if c in STEADY_COHORTS else None,
        "adoption": False if c in (*STEADY_COHORTS, "onboarding") else None,
        "renewal": renewal_due(a, now),
        "expansion": True if c == "expanding" else None if c == "onboarding" else False,
        # the onboarding episode lasts the onboarding window, first value or not
        "onboarding": started_recently,
        # onboarding accounts are at most 20 days old and reach first value at once
        "onboarding_stalled": False,
    }


def renewal_due(a: Account, now: datetime) -> bool:
    renews = datetime.combine(a.renewal_at, time(), tzinfo=UTC)
    window = RENEWAL_WINDOW_DAYS.get(a.segment, DEFAULT_RENEWAL_WINDOW_DAYS)
    return now <= renews <= now + timedelta(days=window)


def make_workload(
    accounts: int,
    days: int,
    *,
    seed: int,
    end: datetime | None = None,
    integrations: bool = False,
) -> Workload:
    """``integrations``: the custom-scorecard cohort too; every other draw is the same
    (its own random stream), so the other accounts and their events do not change."""
    rng = random.Random(seed)
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    population = [_make_account(rng, i, start, end, days) for i in range(accounts)]
    if integrations:
        broken = random.Random(f"{seed}-integrations")
        population = [
            replace(a, integration_broken=broken.random() < INTEGRATION_BROKEN_SHARE)
            if a.cohort == "healthy"
            else a
            for a in population
        ]
    return Workload(_with_regions(population, seed), start, end, integrations)


def _with_regions(population: list[Account], seed: int) -> list[Account]:
    """Each account a region, in turn within its cohort (the integration cohort on its
    own) from where the seed starts: every cohort of three accounts or more has all
    three regions, and no random draw moves."""
    seen: Counter[tuple[str, bool]] = Counter()
    out = []
    for a in population:
        group = (a.cohort, a.integration_broken)
        out.append(replace(a, region=REGIONS[(seed + seen[group]) % len(REGIONS)]))
        seen[group] += 1
    return out


def _make_account(rng: random.Random, i: int, start: datetime, end: datetime, days: int) -> Account:
    cohort = rng.choices(COHORTS, COHORT_WEIGHTS)[0]
    segment = rng.choices(list(SEGMENTS), [s[0] for s in SEGMENTS.values()])[0]
    _, arr_range, seat_range = SEGMENTS[segment]
    if cohort == "onboarding":
        started = end - timedelta(days=rng.uniform(3, 20))
    else:
        started = start - timedelta(days=rng.uniform(60, 600))
    # about a fifth of the accounts (half of enterprise) renew within their renewal window
    renewal = (end + timedelta(days=rng.uniform(20, 330))).date()
    return Account(
        account_id=f"acct-{i:05d}",
        cohort=cohort,
        segment=segment,
        arr=rng.randint(*arr_range),
        seats=rng.randint(*seat_range),
        started_at=started,
        renewal_at=renewal,
    )


def events(workload: Workload, *, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, raw event) pairs for every account, day by day in event time."""
    rng = random.Random(seed + 1)
    for account in workload.accounts:
        yield from _account_events(rng, account, workload)


def _account_events(
    rng: random.Random, a: Account, w: Workload
) -> Iterator[tuple[str, dict[str, Any]]]:
    seq = iter(range(10**9))

    def ev(source: str, at: datetime, type_: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        body = {
            "event_id": f"{a.account_id}-{source[0]}{next(seq)}",
            "account_id": a.account_id,
            "occurred_at": at.isoformat(),
            "type": type_,
            **fields,
        }
        return source, body

    sub_at = max(a.started_at, w.start)
    kind = "subscription_started" if a.started_at >= w.start else "subscription_updated"
    yield ev(
        "payment",
        sub_at,
        kind,
        arr=str(a.arr),
        currency="USD",
        seats=a.seats,
        plan=a.segment,
        renewal_at=a.renewal_at.isoformat(),
        region=a.region,  # an extra field: read only by a scorecard that declares it
    )
    yield from _usage(rng, a, w, ev)
    yield from _tickets(rng, a, w, ev)
    yield from _billing(rng, a, w, ev)
    yield from _surveys(rng, a, w, ev)


def _activity_level(a: Account, day: int, days: int) -> float:
    """Fraction of seats active on a day, by cohort (day 0 = start of the window)."""
    progress = day / max(days - 1, 1)
    if a.cohort == "healthy":
        return 0.7
    if a.cohort == "declining":
        return max(0.05, 0.55 - 0.45 * progress)
    if a.cohort == "churning":
        return 0.5 if day < days - 21 else 0.0
    if a.cohort == "expanding":
        # at 90% of its seats from about two thirds of the window on: an expansion signal
        # that has lasted weeks by the end, not one that appears in its last days
        return min(1.0, 0.6 + 0.6 * progress)
    return 0.3 + 0.3 * progress  # onboarding


def _usage(
    rng: random.Random, a: Account, w: Workload, ev: Any
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each week a share of the seats is active (by cohort); active users show up on
    about 40% of the days. Healthy, expanding and onboarding accounts keep their
    champion (the first user) active every week.

    The active users are the same people week after week (the first ones of the
    account), as in a real team: an account grows by adding users, not by drawing
    new ones at random. Drawn afresh each week, a healthy account of a few seats
    would now and then have every seat active and look like an expanding one."""
    days = (w.end - w.start).days
    breadth = {"healthy": 10, "declining": 4, "churning": 5, "expanding": 11, "onboarding": 4}
    features = FEATURES[: breadth[a.cohort]]
    first_day = max(0, (a.started_at - w.start).days)
    users = [f"{a.account_id}-u{n}" for n in range(a.seats)]
    keeps_champion = a.cohort in ("healthy", "expanding", "onboarding")
    kinds = random.Random(a.account_id)  # its own stream: the other draws stay the same
    broken_from = days - INTEGRATION_BROKEN_DAYS if a.integration_broken else days
    api_day = -1  # the integration syncs on every day the account is used: its first event
    for week_start in range(first_day, days, 7):
        level = _activity_level(a, min(week_start + 3, days - 1), days)
        count = round(level * a.seats)
        if keeps_champion and level > 0.0:
            count = max(count, 1)
        active = users[:count]
        for day in range(week_start, min(week_start + 7, days)):
            for user in active:
                if rng.random() < 0.4:
                    at = w.start + timedelta(days=day, seconds=rng.uniform(0, 86_000))
                    api = w.integrations and day < broken_from
                    api = api and (api_day != day or kinds.random() < API_CALL_SHARE)
                    api_day = day
                    yield ev(
                        "usage",
                        at,
                        "api_call" if api else "feature_used",
                        user_id=user,
                        feature=rng.choice(features),
                        quantity=rng.randint(1, 5),
                    )


def _tickets(
    rng: random.Random, a: Account, w: Workload, ev: Any
) -> Iterator[tuple[str, dict[str, Any]]]:
    days = (w.end - w.start).days
    if a.cohort == "churning":
        for n in range(2):
            at = w.end - timedelta(days=rng.uniform(2, 15))
            yield ev("ticket", at, "opened", ticket_id=f"{a.account_id}-t{n}", severity="urgent")
        return
    for n in range(rng.randint(0, 2)):
        at = w.start + timedelta(days=rng.uniform(0, days - 10))
        ticket = f"{a.account_id}-t{n}"
        yield ev("ticket", at, "opened", ticket_id=ticket, severity=rng.choice(["low", "normal"]))
        yield ev("ticket", at + timedelta(hours=rng.uniform(2, 48)), "resolved", ticket_id=ticket)
        yield ev(
            "ticket",
            at + timedelta(hours=50),
            "satisfaction_rated",
            ticket_id=ticket,
            csat=rng.randint(4, 5),
        )


def _billing(
    rng: random.Random, a: Account, w: Workload, ev: Any
) -> Iterator[tuple[str, dict[str, Any]]]:
    month = timedelta(days=30)
    at = max(a.started_at, w.start) + timedelta(days=1)
    n = 0
    while at < w.end:
        invoice = f"{a.account_id}-i{n}"
        late = a.cohort == "churning" and at > w.end - timedelta(days=35)
        if late:
            yield ev("payment", at, "payment_failed", invoice_id=invoice, amount=str(a.arr // 12))
            yield ev(
                "payment",
                at + timedelta(days=5),
                "payment_failed",
                invoice_id=invoice,
                amount=str(a.arr // 12),
            )
            yield ev(
                "payment",
                at + timedelta(days=10),
                "invoice_overdue",
                invoice_id=invoice,
                amount=str(a.arr // 12),
                due_at=(at + timedelta(days=7)).date().isoformat(),
            )
        else:
            yield ev("payment", at, "invoice_paid", invoice_id=invoice, amount=str(a.arr // 12))
        at += month
        n += 1


def _surveys(
    rng: random.Random, a: Account, w: Workload, ev: Any
) -> Iterator[tuple[str, dict[str, Any]]]:
    scores = {
        "healthy": (8, 10),
        "declining": (5, 8),
        "churning": (0, 3),
        "expanding": (9, 10),
        "onboarding": (7, 9),
    }
    low, high = scores[a.cohort]
    for n in range(2):
        at = w.end - timedelta(days=rng.uniform(1, 80))
        if at < a.started_at:
            continue
        yield ev("survey", at, "nps", score=rng.randint(low, high), user_id=f"{a.account_id}-u{n}")
