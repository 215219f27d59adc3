"""Prometheus metrics of the triggers service."""

from __future__ import annotations

from shared.metrics import (
    END_TO_END_BUCKETS_S,
    ConsumerMetricSet,
    counter,
    gauge,
    histogram,
    outbox,
)


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
    # feedback (episodes opened in the last ``feedback_window_days``), per configured
    # playbook and segment: what the people who closed them said
    feedback_closed = gauge(
        "episodes_closed",
        "Episodes closed by a person or a tool, by playbook, segment and resolution.",
        "playbook",
        "segment",
        "resolution",
    )
    precision = gauge(
        "playbook_precision",
        "Precision by feedback: actioned / (actioned + not_useful + false_alarm).",
        "playbook",
        "segment",
    )
    precision_low = gauge(
        "playbook_precision_low",
        "Lower bound of the precision's 95% Wilson interval.",
        "playbook",
        "segment",
    )
    precision_high = gauge(
        "playbook_precision_high",
        "Upper bound of the precision's 95% Wilson interval.",
        "playbook",
        "segment",
    )
    time_to_acknowledge = gauge(
        "time_to_acknowledge_seconds",
        "Seconds from an episode's opening to its acknowledgement (quantile 0.5 or 0.9).",
        "playbook",
        "segment",
        "quantile",
    )
    time_to_close = gauge(
        "time_to_close_seconds",
        "Seconds from an episode's opening to its close (quantile 0.5 or 0.9).",
        "playbook",
        "segment",
        "quantile",
    )
