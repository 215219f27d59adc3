"""What the running ingest service holds, shared by its routes and its loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaProducer

from services.ingest.config import IngestSettings
from services.ingest.consumer import IngestConsumer
from services.ingest.metrics import IngestMetrics


@dataclass
class IngestRuntime:
    settings: IngestSettings
    metrics: IngestMetrics
    producer: AIOKafkaProducer
    consumer: IngestConsumer
    clock: Callable[[], datetime]
