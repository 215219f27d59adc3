"""Response bodies of the scoring API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Tag

from services.scoring.domain.model_config import HealthModelConfig
from shared.contracts import AppliedOverride, Explanation
from shared.contracts.fields import plain_decimal
from shared.database.config_store import ConfigDocument, Stored, document_or_config


class AccountHealth(BaseModel):
    account_id: str
    score: float
    band: str
    segment: str | None
    components: dict[str, float | None]
    reasons: list[str]
    coverage: float | None
    model_version: str | None
    as_of: datetime | None
    updated_at: datetime
    arr: str | None
    seats: int | None
    renewal_at: date | None
    # the model's own score and band: equal to ``score``/``band`` unless an override applies
    model_score: float
    model_band: str
    overrides: list[AppliedOverride]  # the overrides the score applied
    # how the model's score was reached, recomputed from the account's state when asked
    explanation: Explanation | None = None

    @classmethod
    def from_row(cls, row: Any) -> AccountHealth:
        return cls(
            account_id=row.account_id,
            score=row.score,
            band=row.band,
            segment=row.segment,
            components=row.components or {},
            reasons=row.reasons or [],
            coverage=row.coverage,
            model_version=row.model_version,
            as_of=row.scored_as_of,
            updated_at=row.updated_at,
            arr=None if row.arr is None else plain_decimal(row.arr),
            seats=row.seats,
            renewal_at=row.renewal_at,
            model_score=row.model_score,
            model_band=row.model_band,
            overrides=[AppliedOverride.model_validate(o) for o in row.overrides or []],
        )


class HistoryPoint(BaseModel):
    as_of: datetime
    score: float
    band: str
    components: dict[str, float | None]
    reasons: list[str]
    coverage: float
    model_version: str
    event_id: str
    # the model's own (equal to score/band unless an override applied)
    model_score: float | None = None
    model_band: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> HistoryPoint:
        return cls(**dict(row._mapping))


class AccountSummary(BaseModel):
    account_id: str
    score: float
    band: str
    segment: str | None
    coverage: float | None
    as_of: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> AccountSummary:
        return cls(
            account_id=row.account_id,
            score=row.score,
            band=row.band,
            segment=row.segment,
            coverage=row.coverage,
            as_of=row.scored_as_of,
        )


class AccountPage(BaseModel):
    items: list[AccountSummary]
    next_cursor: str | None


class ModelConfigDocument(ConfigDocument[HealthModelConfig]):
    model_version: str | None = None


class ModelConfigView(ModelConfigDocument):
    @classmethod
    def of(cls, version: int, config: HealthModelConfig, stored: Stored) -> ModelConfigView:
        return cls(
            version=version,
            model_version=config.model_version,
            changed_by=stored.changed_by,
            created_at=stored.created_at,
            config=config,
        )


# PUT /v1/config/scoring takes the GET document back, or the config alone.
ModelConfigPut = Annotated[
    Annotated[ModelConfigDocument, Tag("document")] | Annotated[HealthModelConfig, Tag("config")],
    Discriminator(document_or_config),
]


class RescoreResult(BaseModel):
    accounts: int
    as_of: datetime
