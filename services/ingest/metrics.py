"""Prometheus metrics of the ingest service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from shared.metrics import BATCH_SIZE_BUCKETS, LATENCY_BUCKETS_S, ConsumerMetricSet


class IngestMetrics(ConsumerMetricSet):
    prefix = "ingest"

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.consumed = self.counter(
            "consumed_events_total", "Raw events consumed, by source topic.", ["topic"]
        )
        self.produced = self.counter(
            "produced_events_total",
            "Events produced, by output topic and outcome (signal or dead_letter).",
            ["topic", "outcome"],
        )
        self.dead_lettered = self.counter(
            "dead_letters_total",
            "Events sent to the dead-letter topic, by reason code.",
            ["reason"],
        )
        self.batch_size = self.histogram(
            "batch_size_events", "Messages per consumed batch.", BATCH_SIZE_BUCKETS
        )
        self.batch_seconds = self.histogram(
            "batch_duration_seconds",
            "Time to validate, produce and commit one batch.",
            LATENCY_BUCKETS_S,
        )
        self.http_events = self.counter(
            "http_events_total", "Events received over POST /v1/events, by outcome.", ["outcome"]
        )
        self.retries = self.counter("batch_retries_total", "Batches retried after a broker error.")
        self.watermark_lag = self.gauge(
            "watermark_lag_seconds",
            "Wall clock minus the event-time watermark of each source's slowest partition"
            " read by this instance.",
            ["source"],
        )
