"""The arrival orders ``make evaluate`` replays one population in, and the producer for them.

- ``live``: the four sources interleaved by event time, at a steady rate;
- ``backfill``: each source's whole history on its own, one source after
  another, as fast as the broker takes it. Usage comes last
  (payment, ticket, survey, usage): the adversarial order for the score, where
  every account has its subscription, tickets and surveys read weeks of event
  time before any of its usage, so silence that is only "not read yet" looks
  like churn;
- ``backfill-payment-last``: the same with payment last (usage, ticket, survey,
  payment): the adversarial order for the facts, where the subscription event
  carrying renewal date, seats and ARR arrives after the score has settled;
- ``kill``: ``live``, and each service killed with SIGKILL once mid-stream
  (ingest at 25% of the events produced, scoring at 50%, triggers at 75%) and
  started again at once;
- ``replay``: the four sources interleaved by event time, as fast as the broker
  takes them (a replay of history, or a restart catching up in order): each
  source's producer batches reach the broker, and ingest, at their own pace, so
  sources are read weeks of event time apart;
- ``replay-kill``: ``replay``, each service killed once as in ``kill``;
- ``scorecard-later``: ``replay`` scored by the built-in model; the custom scorecard
  is applied once the history is in, and computes its new measure from the daily
  rollups scoring kept, without a replay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.kafka.clients import dumps, key_bytes, make_producer, stop_bounded
from shared.settings.common import TopicNames

LATER = "scorecard-later"  # the custom scorecard applied after the history
ORDERS = ("live", "backfill", "backfill-payment-last", "kill", "replay", "replay-kill", LATER)
BACKFILLS = {
    "backfill": ("payment", "ticket", "survey", "usage"),
    "backfill-payment-last": ("usage", "ticket", "survey", "payment"),
}
KILLS = ((0.25, "ingest"), (0.50, "scoring"), (0.75, "triggers"))
KILLED = ("kill", "replay-kill")  # orders with each service killed once
UNPACED = (*BACKFILLS, "replay", "replay-kill", LATER)  # as fast as the broker takes them

Item = tuple[str, dict[str, Any]]  # (source, raw event)


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    rate: float | None  # events/s; None: as fast as the broker takes them
    # (fraction of the items produced, what to do then)
    disruptions: Sequence[tuple[float, Callable[[], Awaitable[None]]]] = field(default=())


def arrange(order: str, items: Sequence[Item]) -> list[Item]:
    """The events in the order ``order`` produces them."""
    by_time = sorted(items, key=lambda item: (item[1]["occurred_at"], item[1]["event_id"]))
    if order in ("live", "kill", "replay", "replay-kill", LATER):
        return by_time
    if order in BACKFILLS:
        return [item for source in BACKFILLS[order] for item in by_time if item[0] == source]
    raise ValueError(f"unknown arrival order {order!r}; one of {', '.join(ORDERS)}")


async def produce(plan: Plan, bootstrap: str, topics: TopicNames) -> float:
    """Produce ``plan``; returns the seconds it took."""
    by_source = topics.topic_of_source()
    marks = sorted((int(f * len(plan.items)), act) for f, act in plan.disruptions)
    producer = make_producer(bootstrap, client_id="vigil-evaluate", linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        pending: list[asyncio.Future[object]] = []
        for n, (source, body) in enumerate(plan.items):
            while marks and marks[0][0] <= n:
                await asyncio.gather(*pending)
                pending.clear()
                await marks.pop(0)[1]()
            pending.append(
                await producer.send(
                    by_source[source], dumps(body), key=key_bytes(body["account_id"])
                )
            )
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
            if plan.rate:
                ahead = (n + 1) / plan.rate - (time.perf_counter() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing to a steady rate, not synchronization
        await asyncio.gather(*pending)
    finally:
        await stop_bounded(producer, 10)
    return time.perf_counter() - started
