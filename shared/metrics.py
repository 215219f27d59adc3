"""Prometheus helpers: one registry per service, build info, the /metrics body.

Names follow Prometheus conventions: ``vigil_`` prefix, base units in the
name, ``_total`` counters, ``_seconds`` histograms, and no account id as a
label (unbounded cardinality).
"""

from __future__ import annotations

import platform
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, cast, overload

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

# Batch processing on this stack takes from ~1 ms to a few seconds under load.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Event time to output spans seconds to hours when late data or outages occur.
END_TO_END_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
BATCH_SIZE_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def new_registry(service: str) -> CollectorRegistry:
    """A fresh registry with ``vigil_build_info`` set for ``service``."""
    registry = CollectorRegistry(auto_describe=True)
    info = Gauge(
        "vigil_build_info",
        "Build information; always 1.",
        ["service", "version", "python"],
        registry=registry,
    )
    info.labels(service, _version(), platform.python_version()).set(1)
    return registry


def _version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe(v)`` for each of ``values``, one increment per bucket.

    A per-event histogram on a hot path (thousands of events a batch) cost about
    a third as much as folding those events: ``observe`` scans the buckets and
    takes a lock for each value. This reaches into prometheus_client's
    ``Histogram`` (its bounds, bucket and sum values);
    ``tests/unit/shared/test_metrics_bulk.py`` checks the exposition against
    per-value ``observe``, so a change there fails a test, not the metric.
    """
    if not values:
        return
    bounds: Sequence[float] = histogram._upper_bounds
    for index, count in Tally(bisect_left(bounds, value) for value in values).items():
        histogram._buckets[index].inc(count)
    histogram._sum.inc(sum(values))


class _Partition(Protocol):
    topic: str
    partition: int


M = TypeVar("M", bound=MetricWrapperBase)


@dataclass(frozen=True)
class MetricSpec(Generic[M]):
    """One metric of a :class:`MetricSet`, declared as a class attribute: its kind, name
    (``vigil_<prefix>_<name>`` unless ``prefixed`` is false), help, labels and buckets.

    The set builds it in ``__init__`` into an instance attribute of the same name, which
    then hides this descriptor; reading it on the class gives the spec.
    """

    kind: type[M]
    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    prefixed: bool = True

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type) -> M: ...
    def __get__(self, obj: object, owner: type) -> Self | M:
        if obj is None:
            return self
        raise AttributeError(f"metric {self.name} was not built: call MetricSet.__init__")

    def build(self, prefix: str, registry: CollectorRegistry) -> M:
        name = f"vigil_{prefix}_{self.name}" if self.prefixed else self.name
        if self.kind is Histogram:
            histogram = Histogram(
                name, self.help, self.labels, buckets=self.buckets, registry=registry
            )
            return cast(M, histogram)
        return self.kind(name, self.help, self.labels, registry=registry)


def counter(name: str, help: str, *labels: str, prefixed: bool = True) -> MetricSpec[Counter]:
    return MetricSpec(Counter, name, help, labels, prefixed=prefixed)


def gauge(name: str, help: str, *labels: str, prefixed: bool = True) -> MetricSpec[Gauge]:
    return MetricSpec(Gauge, name, help, labels, prefixed=prefixed)


def histogram(
    name: str, help: str, buckets: Sequence[float], *labels: str
) -> MetricSpec[Histogram]:
    return MetricSpec(Histogram, name, help, labels, tuple(buckets))


def outbox(what: str) -> tuple[MetricSpec[Gauge], MetricSpec[Counter]]:
    """Backlog gauge and relayed counter of the outbox of ``what`` ("Health changes")."""
    return (
        gauge("outbox_backlog_messages", f"{what} written but not yet on Kafka."),
        counter("outbox_relayed_messages_total", f"{what} relayed from the outbox to Kafka."),
    )


class MetricSet:
    """A service's metrics, named ``vigil_<prefix>_<name>``, all in one registry.

    A subclass declares its metrics as class attributes (:func:`counter`, :func:`gauge`,
    :func:`histogram`: one table of :class:`MetricSpec`); ``__init__`` builds every one,
    base classes' first, each into the instance attribute of its name.
    """

    prefix: ClassVar[str]

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        for attribute, spec in self.specs().items():
            setattr(self, attribute, spec.build(self.prefix, registry))

    @classmethod
    def specs(cls) -> dict[str, MetricSpec[Any]]:
        """The declared metrics by attribute, in declaration order, base classes' first."""
        return {
            attribute: value
            for klass in reversed(cls.__mro__)
            for attribute, value in vars(klass).items()
            if isinstance(value, MetricSpec)
        }

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Self:
        return cls(registry)

    @classmethod
    def new(cls) -> Self:
        """In a fresh registry of the service named ``prefix`` (see :func:`new_registry`)."""
        return cls(new_registry(cls.prefix))


class ConsumerMetricSet(MetricSet):
    """The metrics of a service with a consumer loop: lag per partition (measured apart
    from the loop, :mod:`shared.consumer.lag_monitor`), failures by kind, dead letters, stall."""

    lag = gauge(
        "consumer_lag_messages",
        "Messages between the end of each partition and the stored position.",
        "topic",
        "partition",
    )
    failures = counter(
        "failures_total",
        "Failures of the consumer stage: transient (retried) or permanent (dead-lettered).",
        "kind",
    )
    dead_letters = counter(
        "dead_letters_total",
        "Records sent to the stage's dead-letter topic, by reason code.",
        "reason",
    )
    stalled_seconds = gauge(
        "consumer_stalled_seconds",
        "Seconds the stored position has not moved while there was lag (0: moving).",
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        for kind in ("transient", "permanent"):
            self.failures.labels(kind)

    def failed(self, kind: str) -> None:
        """The ``on_failure`` callback of a consumer loop (``transient``/``permanent``)."""
        self.failures.labels(str(kind)).inc()

    def count_dead_letter(self, code: str) -> None:
        self.dead_letters.labels(code).inc()

    def record_lag(self, lags: Mapping[_Partition, int]) -> None:
        """Per-partition lag, from the lag monitor
        (:func:`shared.consumer.lag_monitor.lag_reporter`)."""
        for tp, lag in lags.items():
            self.lag.labels(tp.topic, str(tp.partition)).set(lag)
