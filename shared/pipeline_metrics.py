"""Metrics every consumer stage has: failures by kind, dead letters, lag and stall.

``vigil_<service>_failures_total{kind}`` counts each failed batch or session
(``transient``: retried) and each record dead-lettered (``permanent``).
``vigil_<service>_consumer_stalled_seconds`` is how long the stored position
has not moved while there was lag: the signal of a stuck consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.consumer_health import ConsumerHealth
from shared.failures import FailureKind

LagReport = Callable[[dict[TopicPartition, int]], None]


@dataclass(frozen=True)
class PipelineMetrics:
    failures: Counter
    dead_letters: Counter | None
    stalled_seconds: Gauge

    def failed(self, kind: FailureKind) -> None:
        self.failures.labels(str(kind)).inc()

    def dead_lettered(self, code: str) -> None:
        if self.dead_letters is not None:
            self.dead_letters.labels(code).inc()

    @classmethod
    def create(
        cls, registry: CollectorRegistry, service: str, *, dead_letters: bool = True
    ) -> PipelineMetrics:
        failures = Counter(
            f"vigil_{service}_failures_total",
            "Failures of the consumer stage: transient (retried) or permanent (dead-lettered).",
            ["kind"],
            registry=registry,
        )
        for kind in FailureKind:
            failures.labels(str(kind))
        letters = None
        if dead_letters:  # ingest has its own, older vigil_ingest_dead_letters_total
            letters = Counter(
                f"vigil_{service}_dead_letters_total",
                "Records that failed for good, sent to the stage's dead-letter topic, by reason.",
                ["reason"],
                registry=registry,
            )
        stalled = Gauge(
            f"vigil_{service}_consumer_stalled_seconds",
            "Seconds the stored position has not moved while the consumer had lag (0: moving).",
            registry=registry,
        )
        return cls(failures, letters, stalled)


def lag_reporter(lag_gauge: Gauge, health: ConsumerHealth, metrics: PipelineMetrics) -> LagReport:
    """The monitor's callback: per-partition lag gauge, stored lag and stall time."""

    def report(lags: dict[TopicPartition, int]) -> None:
        for tp, lag in lags.items():
            lag_gauge.labels(tp.topic, str(tp.partition)).set(lag)
        health.stored_lag_is(sum(lags.values()))
        metrics.stalled_seconds.set(health.stalled_s())

    return report
