"""FastAPI dependency aliases of ingest, in one place."""

from __future__ import annotations

from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from services.ingest.config import IngestSettings
from services.ingest.runtime import IngestRuntime as IngestState


def get_state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state


def get_settings(request: Request) -> IngestSettings:
    return get_state(request).settings


def get_producer(request: Request) -> AIOKafkaProducer:
    return get_state(request).producer


StateDep = Annotated[IngestState, Depends(get_state)]
SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
ProducerDep = Annotated[AIOKafkaProducer, Depends(get_producer)]
