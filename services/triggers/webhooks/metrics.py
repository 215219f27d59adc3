"""Prometheus metrics of webhook delivery."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from shared.metrics import MetricSet

# From a fast receiver (10 ms) to the delivery timeout (15 s).
DELIVERY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)


class WebhookMetrics(MetricSet):
    prefix = "webhook"

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.deliveries = self.counter(
            "deliveries_total",
            "Delivery attempts by outcome (success, retry, failed) and status class.",
            ["outcome", "status_class"],
        )
        self.latency = self.histogram(
            "delivery_duration_seconds",
            "Time for one delivery attempt, until the response or the error.",
            DELIVERY_BUCKETS_S,
        )
        self.retry_backlog = self.gauge(
            "retry_backlog_deliveries", "Deliveries waiting for a retry after a failed attempt."
        )
        self.disabled_endpoints = self.gauge(
            "disabled_endpoints",
            "Subscriptions disabled after failing continuously or answering 410.",
        )
