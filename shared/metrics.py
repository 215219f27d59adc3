"""Prometheus helpers: one registry per service, build info, the /metrics body.

Names follow Prometheus conventions: ``vigil_`` prefix, base units in the
name, ``_total`` counters, ``_seconds`` histograms, and no account id as a
label (unbounded cardinality).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
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


def lag_gauge(registry: CollectorRegistry, service: str) -> Gauge:
    """``vigil_<service>_consumer_lag_messages{topic,partition}``."""
    return Gauge(
        f"vigil_{service}_consumer_lag_messages",
        "Messages behind the end of each assigned partition.",
        ["topic", "partition"],
        registry=registry,
    )


def record_lag(gauge: Gauge, lags: Mapping[_Partition, int]) -> None:
    for tp, lag in lags.items():
        gauge.labels(tp.topic, str(tp.partition)).set(lag)


class RecordsLag:
    """Gives a metrics dataclass with a ``lag`` gauge the ``on_lag`` callback of its loop."""

    lag: Gauge

    def record_lag(self, lags: Mapping[_Partition, int]) -> None:
        record_lag(self.lag, lags)


def outbox_gauges(registry: CollectorRegistry, service: str, what: str) -> tuple[Gauge, Counter]:
    """The backlog gauge and the relayed counter of an outbox of ``what`` (e.g. "Health
    changes"): ``vigil_<service>_outbox_backlog_messages``, ``…_outbox_relayed_messages_total``.
    """
    backlog = Gauge(
        f"vigil_{service}_outbox_backlog_messages",
        f"{what} written but not yet on Kafka.",
        registry=registry,
    )
    relayed = Counter(
        f"vigil_{service}_outbox_relayed_messages_total",
        f"{what} relayed from the outbox to Kafka.",
        registry=registry,
    )
    return backlog, relayed
