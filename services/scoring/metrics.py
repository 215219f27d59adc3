"""Prometheus metrics of the scoring service."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import BATCH_SIZE_BUCKETS, END_TO_END_BUCKETS_S, LATENCY_BUCKETS_S


@dataclass(frozen=True)
class ScoringMetrics:
    events_applied: Counter
    duplicates: Counter
    malformed: Counter
    batch_size: Histogram
    transaction_seconds: Histogram
    transaction_errors: Counter
    accounts_scored: Counter
    health_changes: Counter
    accounts_by_band: Gauge
    outbox_backlog: Gauge
    outbox_relayed: Counter
    event_time_lag: Histogram
    lag: Gauge
    clock_runs: Counter
    clock_seconds: Histogram
    watermark_lag: Gauge
    late_events: Counter

    def record_lag(self, lags: dict[TopicPartition, int]) -> None:
        for tp, lag in lags.items():
            self.lag.labels(tp.topic, str(tp.partition)).set(lag)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ScoringMetrics:
        r = registry
        return cls(
            events_applied=Counter(
                "vigil_scoring_events_applied_total",
                "Signals applied to state.",
                ["source"],
                registry=r,
            ),
            duplicates=Counter(
                "vigil_scoring_duplicate_events_total",
                "Signals skipped because their event_id was already applied.",
                registry=r,
            ),
            malformed=Counter(
                "vigil_scoring_malformed_signals_total",
                "Messages on signals that did not parse as a signal (skipped).",
                registry=r,
            ),
            batch_size=Histogram(
                "vigil_scoring_batch_size_events",
                "Signals per applied batch.",
                buckets=BATCH_SIZE_BUCKETS,
                registry=r,
            ),
            transaction_seconds=Histogram(
                "vigil_scoring_transaction_duration_seconds",
                "Duration of one database transaction (batch or clock chunk).",
                ["kind"],
                buckets=LATENCY_BUCKETS_S,
                registry=r,
            ),
            transaction_errors=Counter(
                "vigil_scoring_transaction_errors_total",
                "Database transactions that failed and were retried.",
                ["kind"],
                registry=r,
            ),
            accounts_scored=Counter(
                "vigil_scoring_accounts_scored_total",
                "Account scorings, by trigger (event or clock).",
                ["trigger"],
                registry=r,
            ),
            health_changes=Counter(
                "vigil_scoring_health_changes_total",
                "Health changes written to the outbox, by new band.",
                ["band"],
                registry=r,
            ),
            accounts_by_band=Gauge(
                "vigil_scoring_accounts",
                "Accounts by band and segment.",
                ["band", "segment"],
                registry=r,
            ),
            outbox_backlog=Gauge(
                "vigil_scoring_outbox_backlog_messages",
                "Health changes written but not yet on Kafka.",
                registry=r,
            ),
            outbox_relayed=Counter(
                "vigil_scoring_outbox_relayed_messages_total",
                "Health changes relayed from the outbox to Kafka.",
                registry=r,
            ),
            event_time_lag=Histogram(
                "vigil_scoring_event_time_lag_seconds",
                "Time from an event's occurred_at to its application to state.",
                buckets=END_TO_END_BUCKETS_S,
                registry=r,
            ),
            lag=Gauge(
                "vigil_scoring_consumer_lag_messages",
                "Messages behind the end of each assigned partition.",
                ["topic", "partition"],
                registry=r,
            ),
            clock_runs=Counter(
                "vigil_scoring_clock_runs_total", "Clock re-scoring passes completed.", registry=r
            ),
            clock_seconds=Histogram(
                "vigil_scoring_clock_duration_seconds",
                "Duration of one clock re-scoring pass over all accounts.",
                buckets=(1, 5, 10, 30, 60, 120, 300, 600),
                registry=r,
            ),
            watermark_lag=Gauge(
                "vigil_scoring_watermark_lag_seconds",
                "Wall clock minus the effective event-time watermark of each source"
                " (its slowest raw partition), as scoring last read it.",
                ["source"],
                registry=r,
            ),
            late_events=Counter(
                "vigil_scoring_late_events_total",
                "Signals older than their source's watermark when read (folded and re-scored).",
                ["source"],
                registry=r,
            ),
        )
