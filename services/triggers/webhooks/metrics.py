"""Prometheus metrics of webhook delivery."""

from __future__ import annotations

from shared.metrics import MetricSet, counter, gauge, histogram

# From a fast receiver (10 ms) to the delivery timeout (15 s).
DELIVERY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)


class WebhookMetrics(MetricSet):
    prefix = "webhook"

    deliveries = counter(
        "deliveries_total",
        "Delivery attempts by outcome (success, retry, failed) and status class.",
        "outcome",
        "status_class",
    )
    latency = histogram(
        "delivery_duration_seconds",
        "Time for one delivery attempt, until the response or the error.",
        DELIVERY_BUCKETS_S,
    )
    retry_backlog = gauge(
        "retry_backlog_deliveries", "Deliveries waiting for a retry after a failed attempt."
    )
    disabled_endpoints = gauge(
        "disabled_endpoints", "Subscriptions disabled after failing continuously or answering 410."
    )
