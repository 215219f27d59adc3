"""Prometheus metrics of the triggers service."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import END_TO_END_BUCKETS_S, RecordsLag, lag_gauge, outbox_gauges


@dataclass(frozen=True)
class TriggersMetrics(RecordsLag):
    playbooks: Counter
    malformed: Counter
    event_time_lag: Histogram
    outbox_backlog: Gauge
    outbox_relayed: Counter
    lag: Gauge
    clock_runs: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> TriggersMetrics:
        r = registry
        backlog, relayed = outbox_gauges(r, "triggers", "Playbook events")
        return cls(
            playbooks=Counter(
                "vigil_triggers_playbook_events_total",
                "Playbook events by playbook, kind (triggered, resolved) and segment.",
                ["playbook", "kind", "segment"],
                registry=r,
            ),
            malformed=Counter(
                "vigil_triggers_malformed_health_changes_total",
                "Messages on health.changes that did not parse (skipped).",
                registry=r,
            ),
            event_time_lag=Histogram(
                "vigil_triggers_event_time_lag_seconds",
                "Time from the health change's as_of (event time) to its playbook event.",
                buckets=END_TO_END_BUCKETS_S,
                registry=r,
            ),
            outbox_backlog=backlog,
            outbox_relayed=relayed,
            lag=lag_gauge(r, "triggers"),
            clock_runs=Counter(
                "vigil_triggers_clock_runs_total",
                "Clock evaluations of time-based playbooks.",
                registry=r,
            ),
        )
