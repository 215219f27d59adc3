"""What the running ingest service holds, shared by its routes and its loop, and the
typed dependency aliases its routes take (the skeleton stores it on ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from services.ingest.config import IngestSettings
from services.ingest.consumer import IngestConsumer
from services.ingest.metrics import IngestMetrics
from shared.clock.periodic import Now
from shared.http.deps import get_runtime


@dataclass
class IngestRuntime:
    settings: IngestSettings
    metrics: IngestMetrics
    producer: AIOKafkaProducer
    consumer: IngestConsumer
    now: Now


def _settings(request: Request) -> IngestSettings:
    runtime: IngestRuntime = get_runtime(request)
    return runtime.settings


def _producer(request: Request) -> AIOKafkaProducer:
    runtime: IngestRuntime = get_runtime(request)
    return runtime.producer


RuntimeDep = Annotated[IngestRuntime, Depends(get_runtime)]
SettingsDep = Annotated[IngestSettings, Depends(_settings)]
ProducerDep = Annotated[AIOKafkaProducer, Depends(_producer)]
