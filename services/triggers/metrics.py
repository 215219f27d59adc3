"""Prometheus metrics of the triggers service."""

from __future__ import annotations

from shared.metrics import END_TO_END_BUCKETS_S, ConsumerMetricSet, counter, histogram, outbox


class TriggersMetrics(ConsumerMetricSet):
    prefix = "triggers"

    playbooks = counter(
        "playbook_events_total",
        "Playbook events by playbook, kind (triggered, resolved) and segment.",
        "playbook",
        "kind",
        "segment",
    )
    malformed = counter(
        "malformed_health_changes_total",
        "Messages on health.changes that did not parse (dead-lettered).",
    )
    event_time_lag = histogram(
        "event_time_lag_seconds",
        "Time from the health change's as_of (event time) to its playbook event.",
        END_TO_END_BUCKETS_S,
    )
    outbox_backlog, outbox_relayed = outbox("Playbook events")
    clock_runs = counter("clock_runs_total", "Clock evaluations of time-based playbooks.")
    held_back = counter(
        "episodes_held_back_total",
        "Episodes not emitted because their state was older than the horizon"
        " (history being replayed or caught up); emitted later if they still hold.",
        "playbook",
    )
