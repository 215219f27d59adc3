"""The contracts as JSON Schema files for producers and subscribers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from shared.contracts.outputs import DlqRecord, HealthChange, PlaybookEvent
from shared.contracts.raw import PaymentEvent, SurveyEvent, TicketEvent, UsageEvent
from shared.contracts.signals import SIGNAL_ADAPTER
from shared.contracts.watermarks import WatermarkRecord

MODELS: dict[str, type[BaseModel]] = {
    "usage.events": UsageEvent,
    "ticket.events": TicketEvent,
    "payment.events": PaymentEvent,
    "survey.events": SurveyEvent,
    "health.changes": HealthChange,
    "playbook.events": PlaybookEvent,
    "ingest.dlq": DlqRecord,
    # records on `signals` with the header `vigil-kind: watermark`
    "signals.watermark": WatermarkRecord,
}


def render_schemas(documents: Mapping[str, type[BaseModel]] | None = None) -> dict[str, str]:
    """File name -> JSON text, deterministic (sorted keys, trailing newline).

    ``documents``: further models by name (documents defined by a service, such as
    the scorecard; shared imports no service, so the caller passes them).
    """
    models = {**MODELS, **(documents or {})}
    schemas = {f"{name}.schema.json": model.model_json_schema() for name, model in models.items()}
    schemas["signals.schema.json"] = SIGNAL_ADAPTER.json_schema()
    return {
        name: json.dumps(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema},
            indent=2,
            sort_keys=True,
        )
        + "\n"
        for name, schema in sorted(schemas.items())
    }


def write_schemas(
    out_dir: Path, documents: Mapping[str, type[BaseModel]] | None = None
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas(documents).items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written
