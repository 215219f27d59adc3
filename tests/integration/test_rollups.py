"""Signals through scoring's consumer leave daily rollups and users' days behind; a
scorecard compiled afterwards, with a measure nobody asked for while the events arrived
(API calls in 7 days, API users in 14), computes it from the stored rows without a
replay; pruning to a retention the window fits in changes nothing (real broker and
database)."""

from __future__ import annotations

import copy
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.scoring.app import create_app
from services.scoring.domain.account_state import StateNeeds, decode_day
from services.scoring.domain.fold import fold_signals
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.signal_decode import ScoringSignal, decode_signal
from services.scoring.domain.state_from_rows import build_state, decode_rollups
from services.scoring.repository.reads import load_related, lock_accounts
from services.scoring.repository.writes import apply_changes
from services.scoring.retention import RollupRetention
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.compiled import CompiledScorecard, compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.evaluate import measure_values
from shared.database.engine import create_engine, create_sessionmaker, transaction
from tests.integration.pipeline import END, produce_signals, wait_drained
from tests.integration.test_scoring import settings_for
from tests.integration.test_trust import rows, signal

pytestmark = pytest.mark.asyncio(loop_scope="session")

# (days before END, hour, usage type, user): two accounts, one of them calling the API
USES = [
    (d, h, kind, user)
    for d in (0, 1, 2, 4, 6, 7, 9, 13, 20, 35)
    for h, kind, user in ((1, "api_call", "u1" if d > 5 else "u2"), (5, "page_view", "u3"))
]
API_MEASURES = [
    {"name": "api_calls_7d", "source": "usage", "aggregate": "count", "window_days": 7,
     "types": ["api_call"], "points": [{"x": 0, "y": 0}, {"x": 10, "y": 100}]},
    {"name": "api_users_14d", "source": "usage", "aggregate": "distinct_users",
     "window_days": 14, "types": ["api_call"]},
    {"name": "urgent_opened_30d", "source": "ticket", "aggregate": "count", "window_days": 30,
     "types": ["opened"], "severities": ["urgent"]},
    {"name": "page_views_30d", "source": "usage", "aggregate": "count", "window_days": 30,
     "types": ["page_view"]},
]  # fmt: skip


def events(prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for account in ("api", "quiet"):
        for d, h, kind, user in USES:
            if account == "quiet" and kind == "api_call":
                continue
            at = END - timedelta(days=d, hours=h)
            out.append(signal(prefix, account, "usage", at, kind, user_id=user, feature=kind))
    for d, severity in ((3, "urgent"), (8, "low"), (40, "urgent")):
        at = END - timedelta(days=d)
        out.append(
            signal(prefix, "api", "ticket", at, "opened", ticket_id=f"t{d}", severity=severity)
        )
    return out


def later_scorecard() -> CompiledScorecard:
    """The default scorecard with the API measures added to adoption: written after the fact."""
    data: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")
    data = copy.deepcopy(data)
    data["measures"] += API_MEASURES
    adoption = next(c for c in data["components"] if c["name"] == "adoption")
    adoption["measures"].append({"measure": "api_calls_7d"})
    card, errors = validate(data)
    assert errors == [] and card is not None
    return compile_scorecard(card)


def naive_api_calls(days: int, as_of: datetime) -> tuple[int, set[str]]:
    """API calls and API users whose UTC day is less than ``days`` before ``as_of``'s."""
    recent = [
        (d, h, user)
        for d, h, kind, user in USES
        if kind == "api_call"
        and 0 <= (as_of.date() - (END - timedelta(days=d, hours=h)).date()).days < days
    ]
    return len(recent), {user for *_x, user in recent}


async def values_at(database: str, accounts: list[str], card: CompiledScorecard) -> dict[str, Any]:
    """Each account's measure values at END, loaded the way scoring loads state."""
    engine = create_engine(database, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            locked = await lock_accounts(session, accounts)
            related = await load_related(
                session,
                accounts,
                since=END - timedelta(days=91),
                history_since=END - timedelta(days=8),
                needs=card.needs,
                rollups_since=(END - timedelta(days=card.needs.rollup_days)).date(),
            )
            return {
                a.account_id: measure_values(card, build_state(a, related), END) for a in locked
            }
    finally:
        await engine.dispose()


async def test_a_measure_added_later_is_computed_from_the_stored_rollups(
    infra, topic_names, database
) -> None:
    group = f"rollups-{uuid.uuid4().hex[:6]}"
    settings = settings_for(infra, topic_names, database, group)
    prefix = uuid.uuid4().hex[:4]
    await produce_signals(infra.kafka_bootstrap, settings.topics.signals, events(prefix))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await wait_drained(database, infra.kafka_bootstrap, group, settings.topics.signals)

    api, quiet = prefix + "api", prefix + "quiet"
    # one row per account and day: counts per source, type, feature and severity; users
    stored = await rows(
        database,
        "SELECT split_part(k, E'\\t', 1), split_part(k, E'\\t', 2), sum((v ->> 0)::int)::int"
        " FROM rollups, jsonb_each(CAST(counts AS jsonb)) AS c(k, v) WHERE account_id = :a"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        a=api,
    )
    assert stored == [
        ("ticket", "opened", 3),
        ("usage", "api_call", 10),
        ("usage", "page_view", 10),
    ]
    users = await rows(
        database,
        "SELECT DISTINCT k FROM rollups, jsonb_object_keys(CAST(users AS jsonb)) AS k"
        " WHERE account_id = :a",
        a=api,
    )
    assert sorted(users) == [("api_call\tu1",), ("api_call\tu2",), ("page_view\tu3",)]

    card = later_scorecard()
    assert card.needs.rollups and card.needs.user_days and card.needs.rollup_days == 30
    calls, callers = naive_api_calls(7, END)
    _, callers_14d = naive_api_calls(14, END)
    got = await values_at(database, [api, quiet], card)
    assert (calls, callers, len(callers_14d)) == (4, {"u2"}, 2)  # the workload's shape
    assert got[api]["api_calls_7d"] == calls
    assert got[api]["api_users_14d"] == len(callers_14d)
    assert got[api]["urgent_opened_30d"] == 1
    assert got[api]["page_views_30d"] == got[quiet]["page_views_30d"] == 9
    assert got[quiet]["api_calls_7d"] == 0 and got[quiet]["api_users_14d"] == 0

    # kept 14 days before each account's latest event (the day before END): the 7- and
    # 14-day windows still fit, the 30-day one does not (the checks would refuse it)
    cutoff = (END - timedelta(hours=1)).date() - timedelta(days=14)
    oldest = "SELECT min(day) FROM rollups WHERE account_id = ANY(:a)"
    assert (await rows(database, oldest, a=[api, quiet]))[0][0] < cutoff
    engine = create_engine(database, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        assert await RollupRetention(sessions, 14, chunk_size=1, now=lambda: END).prune() > 0
    finally:
        await engine.dispose()
    assert (await rows(database, oldest, a=[api, quiet]))[0][0] >= cutoff
    after = await values_at(database, [api, quiet], card)
    for name in ("api_calls_7d", "api_users_14d", "urgent_opened_30d"):
        assert after[api][name] == got[api][name]
    assert after[api]["page_views_30d"] == 8


async def test_batches_on_the_same_day_merge_into_the_stored_day(database) -> None:
    """Counts add up per key and users unite when a later batch lands on a stored day
    (the conflict path), in either order."""
    at = END - timedelta(hours=3)
    first = [
        decode(signal("m", "a", "usage", at + timedelta(minutes=i), "api_call", user_id=u))
        for i, u in enumerate(("u1", "u1", "u2"))
    ]
    second = [
        decode(signal("m", "a", "usage", at + timedelta(minutes=9), "api_call", user_id="u3")),
        decode(signal("m", "a", "usage", at + timedelta(minutes=8), "export", user_id="u1")),
        decode(signal("m", "a", "ticket", at, "opened", ticket_id="t", severity="high")),
    ]
    engine = create_engine(database, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        for batch in (second, first):
            async with transaction(sessions) as session:
                await apply_changes(session, fold_signals(batch))
        async with transaction(sessions) as session:
            await lock_accounts(session, ["ma"])  # as scoring does: it begins the transaction
            related = await load_related(
                session, ["ma"], since=at, history_since=at, needs=StateNeeds(rollups=True)
            )
    finally:
        await engine.dispose()
    rollups, users = decode_rollups(related["rollups"]["ma"])
    whole = fold_signals(first + second)
    expected = decode_day(
        at.date(), whole.rollups[("ma", at.date())], whole.user_days[("ma", at.date())]
    )
    assert sorted(rollups) == sorted(expected[0])
    assert sorted(users) == sorted(expected[1])
    assert {(r.type, r.events) for r in rollups} == {("api_call", 4), ("export", 1), ("opened", 1)}


def day_events(prefix: str, account: str, at: datetime) -> list[ScoringSignal]:
    """A day and the day before of one account: usage of two types, three users, a
    quantity that is not whole, and tickets."""
    out = [
        signal(prefix, account, "usage", at + timedelta(minutes=i), kind, user_id=u, quantity=q)
        for i, (kind, u, q) in enumerate(
            [("api_call", "u1", 1.5), ("api_call", "u2", 2.0), ("export", "u1", 1.0)] * 3
        )
    ]
    out += [
        signal(prefix, account, "usage", at - timedelta(days=1), "api_call", user_id="u3"),
        signal(prefix, account, "ticket", at, "opened", ticket_id="t1", severity="urgent"),
        signal(prefix, account, "ticket", at + timedelta(hours=1), "resolved", ticket_id="t1"),
    ]
    return [decode(message) for message in out]


async def test_days_merged_a_key_at_a_time_hold_the_sums_of_every_split(database) -> None:
    """A batch whose day has one key is summed into the stored day by ``jsonb_set``, one with
    more by ``rollups_add``, a day not stored yet inserted: however a day's events are split
    into batches, and in whatever order they come, the stored days read back as the fold of
    all of them."""
    at = END - timedelta(hours=6)
    engine = create_engine(database, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        for seed in range(4):
            account = f"s{seed}"
            events = day_events("k", account, at)
            random.Random(seed).shuffle(events)
            # seed 0: one event a batch (one key each); the others: random cuts
            cuts = (
                list(range(1, len(events)))
                if seed == 0
                else sorted(random.Random(seed).sample(range(1, len(events)), 4))
            )
            for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True):
                async with transaction(sessions) as session:
                    await apply_changes(session, fold_signals(events[start:end]))
            async with transaction(sessions) as session:
                await lock_accounts(session, ["k" + account])
                related = await load_related(
                    session,
                    ["k" + account],
                    since=at - timedelta(days=2),
                    history_since=at,
                    needs=StateNeeds(rollups=True, user_days=True),
                )
            stored = decode_rollups(related["rollups"]["k" + account])
            whole = fold_signals(events)
            expected: tuple[list[Any], list[Any]] = ([], [])
            for (_a, day), counts in whole.rollups.items():
                rollups, users = decode_day(day, counts, whole.user_days.get((_a, day), {}))
                expected[0].extend(rollups)
                expected[1].extend(users)
            assert sorted(stored[0]) == sorted(expected[0]), seed
            assert sorted(stored[1]) == sorted(expected[1]), seed
    finally:
        await engine.dispose()


def decode(message: tuple[str, bytes]) -> ScoringSignal:
    return decode_signal(message[1])
