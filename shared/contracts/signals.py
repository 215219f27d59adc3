"""``signals``: a validated, normalized raw event plus its source, keyed by account.

Each signal model extends its raw event model, so the normalized fields and
the producer's extra fields both travel on.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from pydantic import Field, TypeAdapter

from shared.contracts.fields import Timestamp
from shared.contracts.raw import PaymentEvent, SurveyEvent, TicketEvent, UsageEvent

Source = Literal["usage", "ticket", "payment", "survey"]


class UsageSignal(UsageEvent):
    source: Literal["usage"] = "usage"
    ingested_at: Timestamp


class TicketSignal(TicketEvent):
    source: Literal["ticket"] = "ticket"
    ingested_at: Timestamp


class PaymentSignal(PaymentEvent):
    source: Literal["payment"] = "payment"
    ingested_at: Timestamp


class SurveySignal(SurveyEvent):
    source: Literal["survey"] = "survey"
    ingested_at: Timestamp


Signal = Annotated[
    UsageSignal | TicketSignal | PaymentSignal | SurveySignal, Field(discriminator="source")
]
SIGNAL_ADAPTER: TypeAdapter[Signal] = TypeAdapter(Signal)
SIGNAL_MODELS: dict[str, type[UsageSignal | TicketSignal | PaymentSignal | SurveySignal]] = {
    "usage": UsageSignal,
    "ticket": TicketSignal,
    "payment": PaymentSignal,
    "survey": SurveySignal,
}


def signal_to_json(signal: Signal) -> bytes:
    return orjson.dumps(signal.model_dump(mode="json", exclude_none=True))


def signal_from_json(data: bytes) -> Signal:
    # pydantic's own JSON parser: ~40% faster than orjson + validate_python, same result
    return SIGNAL_ADAPTER.validate_json(data)
