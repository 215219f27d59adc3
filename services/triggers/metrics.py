"""Prometheus metrics of the triggers service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from shared.metrics import END_TO_END_BUCKETS_S, ConsumerMetricSet


class TriggersMetrics(ConsumerMetricSet):
    prefix = "triggers"

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        self.playbooks = self.counter(
            "playbook_events_total",
            "Playbook events by playbook, kind (triggered, resolved) and segment.",
            ["playbook", "kind", "segment"],
        )
        self.malformed = self.counter(
            "malformed_health_changes_total",
            "Messages on health.changes that did not parse (skipped).",
        )
        self.event_time_lag = self.histogram(
            "event_time_lag_seconds",
            "Time from the health change's as_of (event time) to its playbook event.",
            END_TO_END_BUCKETS_S,
        )
        self.outbox_backlog, self.outbox_relayed = self.outbox("Playbook events")
        self.held_back = self.counter(
            "episodes_held_back_total",
            "Episodes not emitted because their state was older than the horizon"
            " (history being replayed or caught up); emitted later if they still hold.",
            ["playbook"],
        )
        self.clock_runs = self.counter(
            "clock_runs_total", "Clock evaluations of time-based playbooks."
        )
