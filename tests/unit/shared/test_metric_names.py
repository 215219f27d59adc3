"""The dashboards and alerts in deploy/ name metrics; every name they use must be exposed."""

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from services.ingest.metrics import IngestMetrics
from services.scoring.metrics import ScoringMetrics
from services.triggers.metrics import TriggersMetrics
from services.triggers.webhooks.metrics import WebhookMetrics
from shared.metrics import new_registry

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NAME = re.compile(r"\bvigil_[a-z_]+")


SUFFIXES = {"counter": ["_total"], "histogram": ["", "_bucket", "_sum", "_count"]}


def exposed_names() -> set[str]:
    """Every series name the four metric sets expose (labelled ones before any sample)."""
    registry = new_registry("test")
    for metric_set in (IngestMetrics, ScoringMetrics, TriggersMetrics, WebhookMetrics):
        metric_set.create(registry)
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, [""])
    }


def test_every_metric_named_in_dashboards_and_alerts_is_exposed() -> None:
    referenced = {
        match
        for path in [*DEPLOY.glob("prometheus/*.yml"), *DEPLOY.glob("grafana/*.json")]
        for match in NAME.findall(path.read_text())
    }
    assert referenced, "no metric names found in deploy/"
    assert referenced <= exposed_names()


def test_lag_is_recorded_per_partition() -> None:
    class Partition:
        def __init__(self, topic: str, partition: int) -> None:
            self.topic, self.partition = topic, partition

    metrics = ScoringMetrics.create(CollectorRegistry())
    metrics.record_lag({Partition("signals", 3): 42})
    sample = metrics.registry.get_sample_value(
        "vigil_scoring_consumer_lag_messages", {"topic": "signals", "partition": "3"}
    )
    assert sample == 42


def test_a_metric_set_builds_its_declared_table_into_typed_attributes() -> None:
    specs = ScoringMetrics.specs()
    assert list(specs)[:4] == ["lag", "failures", "dead_letters", "stalled_seconds"]
    assert ScoringMetrics.model_auc.name == "vigil_model_auc"  # the spec, read on the class

    first, second = ScoringMetrics.new(), ScoringMetrics.new()
    first.outbox_relayed.inc(3)
    assert second.registry.get_sample_value("vigil_scoring_outbox_relayed_messages_total") == 0
    assert first.registry.get_sample_value("vigil_scoring_outbox_relayed_messages_total") == 3
    assert (
        first.registry.get_sample_value("vigil_scoring_failures_total", {"kind": "permanent"}) == 0
    )


def test_every_attribute_of_a_set_is_a_declared_metric() -> None:
    for metric_set in (IngestMetrics, ScoringMetrics, TriggersMetrics, WebhookMetrics):
        built = metric_set.create(CollectorRegistry())
        names = {family.name for family in built.registry.collect()}
        assert len(names) == len(metric_set.specs())
        for attribute, spec in metric_set.specs().items():
            assert isinstance(getattr(built, attribute), spec.kind)
