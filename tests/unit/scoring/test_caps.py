"""State caps: an account under its caps keeps every row (so its score is unchanged); one over
them keeps exactly the most recent, whatever order the rows were read in. Pure."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.caps import StateCaps, cap_related
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.state_from_rows import build_state

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CAPS = StateCaps(features=5, open_tickets=4, overdue_invoices=3)


def feature(i: int, days: int) -> dict[str, Any]:
    at = NOW - timedelta(days=days)
    return {"feature": f"f{i}", "first_used_at": at, "last_used_at": at, "uses": 1}


def ticket(i: int, days: int, status: str) -> dict[str, Any]:
    at = NOW - timedelta(days=days)
    return {
        "ticket_id": f"t{i}",
        "status": status,
        "severity": "high",
        "opened_at": at,
        "updated_at": at,
        "resolved_at": None,
        "reopen_count": 0,
    }


def invoice(i: int, days: int, status: str) -> dict[str, Any]:
    at = NOW - timedelta(days=days)
    return {
        "invoice_id": f"i{i}",
        "status": status,
        "amount": None,
        "due_at": at,
        "overdue_at": at if status == "overdue" else None,
        "paid_at": at if status == "paid" else None,
        "updated_at": at,
    }


def related(features: list[int], tickets: list[tuple[int, str]], invoices: list[tuple[int, str]]):
    def empty() -> dict[str, list[Any]]:
        return {}

    return {
        "activity": empty(),
        "users": empty(),
        "features": {"a": [feature(i, d) for i, d in enumerate(features)]},
        "tickets": {"a": [ticket(i, d, s) for i, (d, s) in enumerate(tickets)]},
        "invoices": {"a": [invoice(i, d, s) for i, (d, s) in enumerate(invoices)]},
        "failures": empty(),
        "responses": empty(),
        "history": empty(),
    }


ACCOUNT = SimpleNamespace(
    account_id="a",
    first_seen_at=NOW - timedelta(days=400),
    arr=None,
    seats=10,
    plan=None,
    attributes=None,
    started_at=None,
    renewal_at=None,
    canceled_at=None,
    last_downgrade_at=None,
    first_value_at=None,
)
days = st.integers(0, 80)


@given(
    st.lists(days, max_size=CAPS.features),
    st.lists(st.tuples(days, st.sampled_from(["open", "resolved"])), max_size=12),
    st.lists(st.tuples(days, st.sampled_from(["overdue", "failed", "paid"])), max_size=12),
)
def test_under_the_caps_nothing_is_evicted_and_the_score_is_unchanged(
    features: list[int], tickets: list[tuple[int, str]], invoices: list[tuple[int, str]]
) -> None:
    open_ = sum(s == "open" for _, s in tickets)
    overdue = sum(s != "paid" for _, s in invoices)
    if open_ > CAPS.open_tickets or overdue > CAPS.overdue_invoices:
        return
    rows = related(features, tickets, invoices)
    before = copy.deepcopy(rows)
    evicted = cap_related(rows, CAPS)
    assert sum(evicted.counts().values()) == 0 and rows == before
    config = HealthModelConfig()
    assert score(build_state(ACCOUNT, rows), NOW, config) == score(
        build_state(ACCOUNT, before), NOW, config
    )


@given(
    st.lists(days, min_size=CAPS.features + 1, max_size=20),
    st.lists(st.tuples(days, st.sampled_from(["open", "resolved"])), max_size=20),
    st.lists(st.tuples(days, st.sampled_from(["overdue", "failed", "paid"])), max_size=20),
    st.randoms(),
)
def test_over_the_caps_the_most_recent_are_kept_whatever_the_read_order(
    features: list[int],
    tickets: list[tuple[int, str]],
    invoices: list[tuple[int, str]],
    rng: random.Random,
) -> None:
    rows = related(features, tickets, invoices)
    shuffled = copy.deepcopy(rows)
    for table in ("features", "tickets", "invoices"):
        rng.shuffle(shuffled[table]["a"])
    evicted, evicted_shuffled = cap_related(rows, CAPS), cap_related(shuffled, CAPS)
    assert evicted == evicted_shuffled
    kept = rows["features"]["a"]
    assert len(kept) == CAPS.features
    newest = sorted(features)[: CAPS.features]  # days ago: the smallest are the most recent
    assert sorted((NOW - f["last_used_at"]).days for f in kept) == newest
    open_kept = [t for t in rows["tickets"]["a"] if t["status"] == "open"]
    assert len(open_kept) == min(CAPS.open_tickets, sum(s == "open" for _, s in tickets))
    assert len(rows["tickets"]["a"]) - len(open_kept) == sum(s != "open" for _, s in tickets)
    overdue_kept = [i for i in rows["invoices"]["a"] if i["status"] != "paid"]
    assert len(overdue_kept) == min(CAPS.overdue_invoices, sum(s != "paid" for _, s in invoices))
    counts = evicted.counts()
    assert counts["feature"] == len(features) - CAPS.features
