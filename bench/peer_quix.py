"""The peer: the same per-account rolling aggregation in Quix Streams (run as a process).

Written as Quix Streams' documentation recommends: an ``Application`` with a
consumer group, a JSON topic, a ``StreamingDataFrame`` with a stateful
``update`` (RocksDB state with changelog topics), run until ``count`` messages.
Prints one JSON line: {"events": n, "seconds": s} from first to last message.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any


def aggregate(value: dict[str, Any], state: Any) -> None:
    """Per account (the message key): daily activity, users, features, tickets, money, surveys."""
    source, at = value["source"], value["occurred_at"]
    if source == "usage":
        day = f"day:{at[:10]}"
        events, quantity = state.get(day, (0, 0.0))
        state.set(day, (events + 1, quantity + float(value.get("quantity", 1))))
        state.set(f"user:{value['user_id']}", max(state.get(f"user:{value['user_id']}", ""), at))
        state.set(f"feature:{value['feature']}", at)
    elif source == "ticket":
        state.set(f"ticket:{value['ticket_id']}", (value["type"], value.get("severity"), at))
    elif source == "payment":
        if value["type"] == "payment_failed":
            state.set("failures", [*state.get("failures", []), at][-20:])
        elif value["type"].startswith("subscription_"):
            state.set("subscription", (value.get("arr"), value.get("seats"), at))
    else:
        state.set("responses", [*state.get("responses", []), (value["type"], value["score"])][-20:])
    state.set("last_event_at", max(state.get("last_event_at", ""), at))


def main() -> None:
    from quixstreams import Application

    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    marks: list[float] = []

    def processed(_topic: str, _partition: int, _offset: int) -> None:
        marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as state_dir:
        app = Application(
            broker_address=args.bootstrap,
            consumer_group=f"quix-peer-{time.time_ns()}",
            auto_offset_reset="earliest",
            state_dir=state_dir,
            loglevel="WARNING",
            on_message_processed=processed,
        )
        sdf = app.dataframe(app.topic(args.topic, value_deserializer="json"))
        sdf = sdf.update(aggregate, stateful=True)
        app.run(count=args.count, timeout=600, collect=False)
    print(json.dumps({"events": len(marks), "seconds": marks[-1] - marks[0]}))  # noqa: T201


if __name__ == "__main__":
    main()
