"""Prometheus metrics of the scoring service."""

from __future__ import annotations

from shared.metrics import (
    BATCH_SIZE_BUCKETS,
    END_TO_END_BUCKETS_S,
    LATENCY_BUCKETS_S,
    ConsumerMetricSet,
    counter,
    gauge,
    histogram,
    outbox,
)

# A clock pass over all accounts takes seconds (thousands) to minutes (a million).
CLOCK_PASS_BUCKETS_S = (1, 5, 10, 30, 60, 120, 300, 600)


class ScoringMetrics(ConsumerMetricSet):
    prefix = "scoring"

    events_applied = counter("events_applied_total", "Signals applied to state.", "source")
    duplicates = counter(
        "duplicate_events_total", "Signals skipped because their event_id was already applied."
    )
    malformed = counter(
        "malformed_signals_total",
        "Messages on signals that did not parse as a signal (dead-lettered).",
    )
    batch_size = histogram("batch_size_events", "Signals per applied batch.", BATCH_SIZE_BUCKETS)
    transaction_seconds = histogram(
        "transaction_duration_seconds",
        "Duration of one database transaction (batch or clock chunk).",
        LATENCY_BUCKETS_S,
        "kind",
    )
    transaction_errors = counter(
        "transaction_errors_total", "Database transactions that failed and were retried.", "kind"
    )

    state_evicted = counter(
        "state_evicted_total",
        "Rows of an account's state evicted because the account was over its cap, by kind"
        " (feature, open_ticket, overdue_invoice).",
        "kind",
    )

    # outputs
    accounts_scored = counter(
        "accounts_scored_total", "Account scorings, by trigger (event or clock).", "trigger"
    )
    health_changes = counter(
        "health_changes_total", "Health changes written to the outbox, by new band.", "band"
    )
    accounts_by_band = gauge("accounts", "Accounts by band and segment.", "band", "segment")
    outbox_backlog, outbox_relayed = outbox("Health changes")
    event_time_lag = histogram(
        "event_time_lag_seconds",
        "Time from an event's occurred_at to its application to state.",
        END_TO_END_BUCKETS_S,
    )

    # Score trust: named for the model, not the service (no scoring_ prefix).
    outcomes = counter(
        "vigil_outcomes_recorded_total",
        "Outcomes recorded by this instance, by kind and source.",
        "kind",
        "source",
        prefixed=False,
    )
    outcomes_stored = gauge(
        "vigil_outcomes", "Outcomes stored, by kind and source.", "kind", "source", prefixed=False
    )
    shadow_errors = counter(
        "vigil_shadow_errors_total",
        "Shadow model failures skipped without touching the live model: stored (a stored"
        " shadow row that does not validate), scoring (the candidate raised, shadow skipped"
        " for the batch), accuracy (a stored model version that does not validate).",
        "where",
        prefixed=False,
    )
    model_auc = gauge(
        "vigil_model_auc",
        "ROC AUC of a model against churn, by model version and horizon (days).",
        "model_version",
        "horizon",
        prefixed=False,
    )

    scorecard_failures = counter(
        "vigil_scorecard_failures_total",
        "Accounts the live scorecard failed to score (the account is isolated: its signal"
        " dead-lettered on scoring.dlq, or skipped by the clock), by trigger.",
        "trigger",
        prefixed=False,
    )

    # event time
    watermark_lag = gauge(
        "watermark_lag_seconds",
        "Wall clock minus the effective event-time watermark of each source"
        " (its slowest raw partition), as scoring last read it.",
        "source",
    )
    late_events = counter(
        "late_events_total",
        "Signals older than their source's watermark when read (folded and re-scored).",
        "source",
    )
    held_back = counter(
        "held_back_judgements_total",
        "Accounts judged before their latest event because a watermark held them back.",
    )

    clock_runs = counter("clock_runs_total", "Clock re-scoring passes completed.")
    clock_seconds = histogram(
        "clock_duration_seconds",
        "Duration of one clock re-scoring pass over all accounts.",
        CLOCK_PASS_BUCKETS_S,
    )
