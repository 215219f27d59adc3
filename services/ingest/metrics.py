"""Prometheus metrics of the ingest service."""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import (
    BATCH_SIZE_BUCKETS,
    LATENCY_BUCKETS_S,
    ConsumerMetricSet,
    counter,
    gauge,
    histogram,
)


class IngestMetrics(ConsumerMetricSet):
    prefix = "ingest"

    consumed = counter("consumed_events_total", "Raw events consumed, by source topic.", "topic")
    produced = counter(
        "produced_events_total",
        "Events produced, by output topic and outcome (signal or dead_letter).",
        "topic",
        "outcome",
    )
    batch_size = histogram("batch_size_events", "Messages per consumed batch.", BATCH_SIZE_BUCKETS)
    batch_seconds = histogram(
        "batch_duration_seconds",
        "Time to validate, produce and commit one batch.",
        LATENCY_BUCKETS_S,
    )
    http_events = counter(
        "http_events_total", "Events received over POST /v1/events, by outcome.", "outcome"
    )
    retries = counter("batch_retries_total", "Batches retried after a broker error.")
    watermark_lag = gauge(
        "watermark_lag_seconds",
        "Wall clock minus the event-time watermark of each source's slowest partition"
        " read by this instance.",
        "source",
    )

    @property
    def dead_lettered(self) -> Counter:
        """ConsumerMetricSet's dead letters, by reason code."""
        return self.dead_letters
