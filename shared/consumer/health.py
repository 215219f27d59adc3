"""What a consumer loop reports about itself: readiness, lag, stuck detection.

aiokafka consumers are known to stay alive but stop fetching after a broker
restart; a loop that sees lag above zero and no progress for a while asks to
be restarted (:meth:`ConsumerHealth.stuck`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        on_change: Callable[[set[TopicPartition]], None],
        on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] | None,
        on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
    ) -> None:
        self._on_change = on_change
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._assigned: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self._on_revoked is not None:
            await self._on_revoked(set(revoked))
        self._assigned -= set(revoked)
        self._on_change(set(self._assigned))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._assigned |= set(assigned)
        self._on_change(set(self._assigned))
        if self._on_assigned is not None:
            await self._on_assigned(set(assigned))


class ConsumerHealth:
    """Readiness and progress of one consumer loop; read by ``/readyz``."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.connected = False
        self.last_error: str | None = None
        self.assigned: set[TopicPartition] = set()
        self._last_progress = monotonic()
        self._lag: dict[TopicPartition, int] = {}
        # from the lag monitor: end offsets against the stored position
        self.stored_lag = 0
        self.last_failure: str | None = None  # kept across session restarts until a commit
        self._last_commit = monotonic()
        self._lag_since = monotonic()

    def listener(
        self,
        on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
        on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
    ) -> ConsumerRebalanceListener:
        """Tracks the assignment; ``on_assigned`` runs for new partitions (e.g. to seek),
        ``on_revoked`` before partitions go (e.g. to finish the batch in flight)."""
        return _Listener(self._set_assigned, on_assigned, on_revoked)

    def _set_assigned(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned
        self._last_progress = self._monotonic()

    def mark_up(self) -> None:
        self.connected = True
        self.last_error = None
        self._last_progress = self._monotonic()

    def mark_down(self, reason: str) -> None:
        self.connected = False
        self.last_error = reason
        if reason != "session closed":
            self.last_failure = reason
        self.assigned = set()

    def progressed(self, _offsets: Mapping[TopicPartition, int] | None = None) -> None:
        self._last_progress = self._last_commit = self._monotonic()
        self.last_failure = None

    def stored_lag_is(self, total: int) -> None:
        """The lag monitor's measure; starts the stall clock when lag appears."""
        if total > 0 and self.stored_lag == 0:
            self._lag_since = self._monotonic()
        self.stored_lag = total

    def stalled_s(self) -> float:
        """How long the stored position has not moved while there was lag (0 when idle)."""
        if self.stored_lag <= 0:
            return 0.0
        return self._monotonic() - max(self._last_commit, self._lag_since)

    def not_ready_because(self, stalled_after_s: float) -> dict[str, str]:
        """Why ``/readyz`` answers 503, one short sentence per failing check."""
        reasons: dict[str, str] = {}
        if not self.connected:
            reasons["kafka"] = self.last_error or "consumer not started"
        elif not self.assigned:
            reasons["partitions"] = "no partition assigned (rebalance in progress?)"
        stalled = self.stalled_s()
        if stalled > stalled_after_s:
            reasons["progress"] = (
                f"no batch committed for {stalled:.0f} s with {self.stored_lag} messages of lag"
                + (f"; last failure: {self.last_failure}" if self.last_failure else "")
            )
        return reasons

    async def polled(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        """Refresh lag after a poll; no lag counts as progress (nothing to do)."""
        self._lag = await self.lag(consumer)
        if not any(self._lag.values()):
            self._last_progress = self._monotonic()
        return dict(self._lag)

    async def lag(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        lags: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
            position = await consumer.position(tp)
            if end is not None:
                lags[tp] = max(0, end - position)
        return lags

    @property
    def total_lag(self) -> int:
        return sum(self._lag.values())

    def stuck(self, after_s: float) -> bool:
        return self.total_lag > 0 and self._monotonic() - self._last_progress > after_s

    @property
    def ready(self) -> bool:
        return self.connected and bool(self.assigned)
