"""Prometheus metrics of webhook delivery."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class WebhookMetrics:
    deliveries: Counter
    latency: Histogram
    retry_backlog: Gauge
    disabled_endpoints: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WebhookMetrics:
        return cls(
            deliveries=Counter(
                "vigil_webhook_deliveries_total",
                "Delivery attempts by outcome (success, retry, failed) and status class.",
                ["outcome", "status_class"],
                registry=registry,
            ),
            latency=Histogram(
                "vigil_webhook_delivery_duration_seconds",
                "Time for one delivery attempt, until the response or the error.",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
                registry=registry,
            ),
            retry_backlog=Gauge(
                "vigil_webhook_retry_backlog_deliveries",
                "Deliveries waiting for a retry after a failed attempt.",
                registry=registry,
            ),
            disabled_endpoints=Gauge(
                "vigil_webhook_disabled_endpoints",
                "Subscriptions disabled after failing continuously or answering 410.",
                registry=registry,
            ),
        )
