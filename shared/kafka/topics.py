"""Vigil's topics on the cluster: created with the configured layout, checked when they exist.

A topic is created with the configured partitions, replication factor (the
broker's ``default.replication.factor`` when unset) and ``min.insync.replicas``
(the broker's default when unset). A topic that already exists is never
changed, but each setting that differs from the configuration is logged as a
warning and counted in ``vigil_kafka_topic_setting_mismatch``: a topic made by
hand with one replica, or with fewer partitions than instances, should not be
used silently.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, for_code
from prometheus_client import CollectorRegistry, Gauge

from shared.kafka.connect import Brokers, client_options
from shared.logging import get_logger
from shared.retry import Backoff
from shared.settings.common import TopicSpec

log = get_logger(__name__)

MIN_ISR = "min.insync.replicas"
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicLayout:
    """What a topic has on the cluster."""

    partitions: int
    replication_factor: int
    min_insync_replicas: int | None = None


@dataclass(frozen=True)
class TopicMismatch:
    topic: str
    setting: str
    expected: int
    actual: int


def mismatches(topic: str, wanted: TopicSpec, actual: TopicLayout) -> list[TopicMismatch]:
    """Settings of ``actual`` that differ from ``wanted`` (unset wanted settings are skipped)."""
    pairs = [
        ("partitions", wanted.partitions, actual.partitions),
        ("replication_factor", wanted.replication_factor, actual.replication_factor),
        (MIN_ISR, wanted.min_insync_replicas, actual.min_insync_replicas),
    ]
    return [
        TopicMismatch(topic, name, want, have)
        for name, want, have in pairs
        if want is not None and have is not None and want != have
    ]


async def ensure_topics(
    bootstrap: Brokers,
    topics: Iterable[str],
    *,
    partitions: int = 4,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    configs: Mapping[str, str] | None = None,
    retry_for_s: float = 60.0,
) -> list[TopicMismatch]:
    """Create the topics that do not exist yet; report how existing ones differ.

    Retriable errors are retried for ``retry_for_s``: aiokafka's admin client
    sends to any broker in its metadata, including one that just died and is
    not yet fenced by the controller (about 10 s after a crash).
    """
    spec = TopicSpec(partitions, replication_factor, min_insync_replicas)
    names = list(dict.fromkeys(topics))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for_s
    backoff = Backoff(initial_s=0.5, max_s=5.0)
    while True:
        try:
            return await _ensure_once(bootstrap, names, spec, configs or {})
        except KafkaError as error:
            if not error.retriable or loop.time() > deadline:
                raise
            delay = backoff.next_delay()
            log.warning("kafka not ready for topics; retrying", error=repr(error), delay_s=delay)
            await asyncio.sleep(delay)


async def _ensure_once(
    bootstrap: Brokers, names: list[str], spec: TopicSpec, configs: Mapping[str, str]
) -> list[TopicMismatch]:
    replication_factor, min_insync_replicas = spec.replication_factor, spec.min_insync_replicas
    admin = AIOKafkaAdminClient(**client_options(bootstrap), client_id="vigil-admin")
    await admin.start()
    try:
        rf = replication_factor or await broker_default_replication(admin)
        wanted = TopicSpec(spec.partitions, rf, min_insync_replicas)
        existing = set(await admin.list_topics())
        missing = [t for t in names if t not in existing]
        if missing:
            await _create(admin, missing, wanted, configs)
        present = [t for t in names if t in existing]
        layouts = await describe_layouts(
            admin, present, with_min_isr=min_insync_replicas is not None
        )
    finally:
        await admin.close()
    found = [m for t in present for m in mismatches(t, wanted, layouts[t])]
    for m in found:
        log.warning(
            "existing topic differs from the configured setting; using it as it is",
            topic=m.topic,
            setting=m.setting,
            expected=m.expected,
            actual=m.actual,
        )
    return found


async def broker_default_replication(admin: AIOKafkaAdminClient) -> int:
    """The cluster's ``default.replication.factor`` (CreateTopics v3 cannot ask for it)."""
    cluster = await admin.describe_cluster()
    node = str(cluster["brokers"][0]["node_id"])
    wanted = {"default.replication.factor": None}
    resource = ConfigResource(ConfigResourceType.BROKER, node, wanted)
    (response,) = await admin.describe_configs([resource])
    entries = _config_entries(response.to_object())
    return int(entries[node]["default.replication.factor"])


async def describe_layouts(
    admin: AIOKafkaAdminClient, topics: list[str], *, with_min_isr: bool = True
) -> dict[str, TopicLayout]:
    """Partitions, replication factor and (optionally) min.insync.replicas of ``topics``."""
    if not topics:
        return {}
    described = {t["topic"]: t for t in await admin.describe_topics(topics)}
    min_isr: dict[str, int | None] = dict.fromkeys(topics)
    if with_min_isr:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, {MIN_ISR: None}) for t in topics]
        for response in await admin.describe_configs(resources):
            for name, entries in _config_entries(response.to_object()).items():
                min_isr[name] = int(entries[MIN_ISR]) if MIN_ISR in entries else None
    return {
        name: TopicLayout(
            partitions=len(described[name]["partitions"]),
            replication_factor=max(len(p["replicas"]) for p in described[name]["partitions"]),
            min_insync_replicas=min_isr[name],
        )
        for name in topics
    }


def _config_entries(response: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        r["resource_name"]: {e["config_names"]: e["config_value"] for e in r["config_entries"]}
        for r in response["resources"]
    }


async def _create(
    admin: AIOKafkaAdminClient, names: list[str], spec: TopicSpec, configs: Mapping[str, str]
) -> None:
    topic_configs = dict(configs)
    if spec.min_insync_replicas is not None:
        topic_configs[MIN_ISR] = str(spec.min_insync_replicas)
    assert spec.replication_factor is not None  # resolved by the caller
    new = [
        NewTopic(
            name=t,
            num_partitions=spec.partitions,
            replication_factor=spec.replication_factor,
            topic_configs=topic_configs,
        )
        for t in names
    ]
    response = await admin.create_topics(new)
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        if code not in (0, TOPIC_ALREADY_EXISTS):  # a concurrent instance may win the race
            detail = entry[2] if len(entry) > 2 else ""
            raise for_code(code)(f"creating topic {name}: {detail}")
    log.info(
        "topics created",
        topics=names,
        partitions=spec.partitions,
        replication_factor=spec.replication_factor,
        min_insync_replicas=spec.min_insync_replicas,
    )
    await _wait_for_topics(admin, names)


async def _wait_for_topics(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        if set(names) <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)
    raise KafkaError(f"topics not visible after 30 s: {names}")


_GAUGES: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = weakref.WeakKeyDictionary()


def mismatch_gauge(registry: CollectorRegistry) -> Gauge:
    """``vigil_kafka_topic_setting_mismatch{topic,setting}``, one per registry."""
    if registry not in _GAUGES:
        _GAUGES[registry] = Gauge(
            "vigil_kafka_topic_setting_mismatch",
            "1 when an existing topic's setting differs from the configured one.",
            ["topic", "setting"],
            registry=registry,
        )
    return _GAUGES[registry]


async def prepare_topics(
    bootstrap: Brokers, topics: Iterable[str], spec: TopicSpec, registry: CollectorRegistry | None
) -> list[TopicMismatch]:
    """A service's start: its topics exist, and what differs is visible in its metrics."""
    found = await ensure_topics(
        bootstrap,
        topics,
        partitions=spec.partitions,
        replication_factor=spec.replication_factor,
        min_insync_replicas=spec.min_insync_replicas,
    )
    if registry is not None:
        gauge = mismatch_gauge(registry)
        for m in found:
            gauge.labels(m.topic, m.setting).set(1)
    return found
