"""Prometheus helpers: one registry per service, build info, the /metrics body.

Names follow Prometheus conventions: ``vigil_`` prefix, base units in the
name, ``_total`` counters, ``_seconds`` histograms, and no account id as a
label (unbounded cardinality).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import ClassVar, Protocol, Self

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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


class _Partition(Protocol):
    topic: str
    partition: int


class MetricSet:
    """A service's metrics, named ``vigil_<prefix>_<name>``, all in one registry.

    A subclass creates its metrics as attributes in ``__init__`` with
    :meth:`counter`, :meth:`gauge` and :meth:`histogram`, so each is named once.
    """

    prefix: ClassVar[str]

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Self:
        return cls(registry)

    @classmethod
    def new(cls) -> Self:
        """In a fresh registry of the service named ``prefix`` (see :func:`new_registry`)."""
        return cls(new_registry(cls.prefix))

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(self._name(name), doc, labels, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(self._name(name), doc, labels, registry=self.registry)

    def histogram(
        self, name: str, doc: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> Histogram:
        return Histogram(self._name(name), doc, labels, buckets=buckets, registry=self.registry)

    def outbox(self, what: str) -> tuple[Gauge, Counter]:
        """Backlog gauge and relayed counter of the outbox of ``what`` ("Health changes")."""
        backlog = self.gauge("outbox_backlog_messages", f"{what} written but not yet on Kafka.")
        relayed = self.counter(
            "outbox_relayed_messages_total", f"{what} relayed from the outbox to Kafka."
        )
        return backlog, relayed

    def _name(self, name: str) -> str:
        return f"vigil_{self.prefix}_{name}"


class ConsumerMetricSet(MetricSet):
    """The metrics of a service with a consumer loop: its lag, per partition."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.lag = self.gauge(
            "consumer_lag_messages",
            "Messages behind the end of each assigned partition.",
            ["topic", "partition"],
        )

    def record_lag(self, lags: Mapping[_Partition, int]) -> None:
        """The ``on_lag`` callback of the consumer loop."""
        for tp, lag in lags.items():
            self.lag.labels(tp.topic, str(tp.partition)).set(lag)
