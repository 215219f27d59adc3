"""Prometheus metrics of the ingest service."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import BATCH_SIZE_BUCKETS, LATENCY_BUCKETS_S


@dataclass(frozen=True)
class IngestMetrics:
    consumed: Counter
    produced: Counter
    dead_lettered: Counter
    batch_size: Histogram
    batch_seconds: Histogram
    lag: Gauge
    http_events: Counter
    retries: Counter
    watermark_lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            consumed=Counter(
                "vigil_ingest_consumed_events_total",
                "Raw events consumed, by source topic.",
                ["topic"],
                registry=registry,
            ),
            produced=Counter(
                "vigil_ingest_produced_events_total",
                "Events produced, by output topic and outcome (signal or dead_letter).",
                ["topic", "outcome"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "vigil_ingest_dead_letters_total",
                "Events sent to the dead-letter topic, by reason code.",
                ["reason"],
                registry=registry,
            ),
            batch_size=Histogram(
                "vigil_ingest_batch_size_events",
                "Messages per consumed batch.",
                buckets=BATCH_SIZE_BUCKETS,
                registry=registry,
            ),
            batch_seconds=Histogram(
                "vigil_ingest_batch_duration_seconds",
                "Time to validate, produce and commit one batch.",
                buckets=LATENCY_BUCKETS_S,
                registry=registry,
            ),
            lag=Gauge(
                "vigil_ingest_consumer_lag_messages",
                "Messages behind the end of each assigned partition.",
                ["topic", "partition"],
                registry=registry,
            ),
            http_events=Counter(
                "vigil_ingest_http_events_total",
                "Events received over POST /v1/events, by outcome.",
                ["outcome"],
                registry=registry,
            ),
            retries=Counter(
                "vigil_ingest_batch_retries_total",
                "Batches retried after a broker error.",
                registry=registry,
            ),
            watermark_lag=Gauge(
                "vigil_ingest_watermark_lag_seconds",
                "Wall clock minus the event-time watermark of each source's slowest partition"
                " read by this instance.",
                ["source"],
                registry=registry,
            ),
        )
