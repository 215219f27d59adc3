"""Settings of the scoring service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import Count, Port, StatefulServiceSettings


class ScoringSettings(StatefulServiceSettings):
    """Scoring: ``signals`` in, account state in PostgreSQL, ``health.changes`` out."""

    group_id: str = "vigil-scoring"
    http_port: Port = 8082
    batch_max_records: Count = 5000
    clock_chunk_size: Count = 2000
    # A health change is published when the band changes or the score moves this much.
    change_step: float = Field(default=5.0, ge=0)
    # Event ids are remembered this long for idempotency (producer retries).
    dedupe_retention_days: Count = 30
    # Event-time watermarks (README "Event time and watermarks"): a caught-up
    # report from ingest younger than this stands for the wall clock.
    watermark_fresh_s: float = Field(default=10.0, gt=0)
    # Accounts are judged up to this far past the slowest source's watermark.
    allowed_lateness_s: float = Field(default=60.0, ge=0)
    # Accounts held back by a watermark re-scored per signals batch, at most.
    held_back_chunk: Count = 1000
