"""Prometheus metrics of the triggers service."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import END_TO_END_BUCKETS_S


@dataclass(frozen=True)
class TriggersMetrics:
    playbooks: Counter
    malformed: Counter
    event_time_lag: Histogram
    outbox_backlog: Gauge
    outbox_relayed: Counter
    lag: Gauge
    clock_runs: Counter
    held_back: Counter

    def record_lag(self, lags: dict[TopicPartition, int]) -> None:
        for tp, lag in lags.items():
            self.lag.labels(tp.topic, str(tp.partition)).set(lag)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> TriggersMetrics:
        r = registry
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
            outbox_backlog=Gauge(
                "vigil_triggers_outbox_backlog_messages",
                "Playbook events written but not yet on Kafka.",
                registry=r,
            ),
            outbox_relayed=Counter(
                "vigil_triggers_outbox_relayed_messages_total",
                "Playbook events relayed from the outbox to Kafka.",
                registry=r,
            ),
            lag=Gauge(
                "vigil_triggers_consumer_lag_messages",
                "Messages behind the end of each assigned partition.",
                ["topic", "partition"],
                registry=r,
            ),
            clock_runs=Counter(
                "vigil_triggers_clock_runs_total",
                "Clock evaluations of time-based playbooks.",
                registry=r,
            ),
            held_back=Counter(
                "vigil_triggers_episodes_held_back_total",
                "Episodes not emitted because their state was older than the horizon"
                " (history being replayed or caught up); emitted later if they still hold.",
                ["playbook"],
                registry=r,
            ),
        )
