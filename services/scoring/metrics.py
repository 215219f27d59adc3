"""Prometheus metrics of the scoring service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from shared.metrics import (
    BATCH_SIZE_BUCKETS,
    END_TO_END_BUCKETS_S,
    LATENCY_BUCKETS_S,
    ConsumerMetricSet,
)

# A clock pass over all accounts takes seconds (thousands) to minutes (a million).
CLOCK_PASS_BUCKETS_S = (1, 5, 10, 30, 60, 120, 300, 600)


class ScoringMetrics(ConsumerMetricSet):
    prefix = "scoring"

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.events_applied = self.counter(
            "events_applied_total", "Signals applied to state.", ["source"]
        )
        self.duplicates = self.counter(
            "duplicate_events_total",
            "Signals skipped because their event_id was already applied.",
        )
        self.malformed = self.counter(
            "malformed_signals_total",
            "Messages on signals that did not parse as a signal (skipped).",
        )
        self.batch_size = self.histogram(
            "batch_size_events", "Signals per applied batch.", BATCH_SIZE_BUCKETS
        )
        self.transaction_seconds = self.histogram(
            "transaction_duration_seconds",
            "Duration of one database transaction (batch or clock chunk).",
            LATENCY_BUCKETS_S,
            ["kind"],
        )
        self.transaction_errors = self.counter(
            "transaction_errors_total",
            "Database transactions that failed and were retried.",
            ["kind"],
        )
        self._outputs()
        self.clock_runs = self.counter("clock_runs_total", "Clock re-scoring passes completed.")
        self.clock_seconds = self.histogram(
            "clock_duration_seconds",
            "Duration of one clock re-scoring pass over all accounts.",
            CLOCK_PASS_BUCKETS_S,
        )
        self._event_time()

    def _outputs(self) -> None:
        self.accounts_scored = self.counter(
            "accounts_scored_total", "Account scorings, by trigger (event or clock).", ["trigger"]
        )
        self.health_changes = self.counter(
            "health_changes_total", "Health changes written to the outbox, by new band.", ["band"]
        )
        self.accounts_by_band = self.gauge(
            "accounts", "Accounts by band and segment.", ["band", "segment"]
        )
        self.outbox_backlog, self.outbox_relayed = self.outbox("Health changes")
        self.event_time_lag = self.histogram(
            "event_time_lag_seconds",
            "Time from an event's occurred_at to its application to state.",
            END_TO_END_BUCKETS_S,
        )

    def _event_time(self) -> None:
        self.watermark_lag = self.gauge(
            "watermark_lag_seconds",
            "Wall clock minus the effective event-time watermark of each source"
            " (its slowest raw partition), as scoring last read it.",
            ["source"],
        )
        self.late_events = self.counter(
            "late_events_total",
            "Signals older than their source's watermark when read (folded and re-scored).",
            ["source"],
        )
        self.held_back = self.counter(
            "held_back_judgements_total",
            "Accounts judged before their latest event because a watermark held them back.",
        )
