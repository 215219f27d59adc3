"""Settings of the scoring service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class ScoringSettings(CommonSettings):
    """Scoring: ``signals`` in, account state in PostgreSQL, ``health.changes`` out."""

    group_id: str = "vigil-scoring"
    http_port: int = Field(default=8082, ge=0, le=65535)
    batch_max_records: int = Field(default=5000, ge=1)
    fetch_timeout_ms: int = Field(default=200, ge=1)
    # A health change is published when the band changes or the score moves this much.
    change_step: float = Field(default=5.0, ge=0)
    # The clock re-scores every account this often, so silence lowers health.
    clock_interval_s: float = Field(default=300.0, ge=0)
    clock_enabled: bool = True
    clock_chunk_size: int = Field(default=2000, ge=1)
    # Event ids are remembered this long for idempotency (producer retries).
    dedupe_retention_days: int = Field(default=30, ge=1)
    db_pool_size: int = Field(default=5, ge=1)
    outbox_poll_interval_s: float = Field(default=0.5, gt=0)
    # Event-time watermarks (README "Event time and watermarks"): a caught-up
    # report from ingest younger than this stands for the wall clock.
    watermark_fresh_s: float = Field(default=10.0, gt=0)
    # Accounts held back by a watermark re-scored per signals batch, at most.
    held_back_chunk: int = Field(default=1000, ge=1)
