"""Settings of the scoring service."""

from __future__ import annotations

from pydantic import Field

from shared.settings.common import Count, Port, Seconds, StatefulServiceSettings


class ScoringSettings(StatefulServiceSettings):
    """Scoring: ``signals`` in, account state in PostgreSQL, ``health.changes`` out."""

    group_id: str = "vigil-scoring"
    http_port: Port = 8082
    # a backlog's batches: per-batch work (re-scoring each touched account once, one
    # upsert per table) spreads over more events; live batches hold what arrived
    batch_max_records: Count = 20_000
    clock_chunk_size: Count = 2000
    # A health change is published when the band changes or the score moves this much.
    change_step: float = Field(default=5.0, ge=0)
    # Event ids are remembered this long for idempotency (producer retries), then
    # pruned every ``dedupe_prune_interval_s`` (services/scoring/retention.py).
    dedupe_retention_days: int = Field(default=30, ge=1, le=3650)
    dedupe_prune_interval_s: Seconds = 3600.0
    # Daily rollups and users' active days (what a measure added later reads) are kept this
    # many days before each account's latest event; a scorecard whose window plus baseline
    # needs more is refused. Pruned every ``rollup_prune_interval_s``.
    rollup_retention_days: int = Field(default=180, ge=1, le=3650)
    rollup_prune_interval_s: Seconds = 3600.0
    # Per-account state caps: rows over a cap are evicted, the oldest first
    # (vigil_scoring_state_evicted_total); an account under its caps is untouched.
    max_features_per_account: Count = 1000
    max_open_tickets_per_account: Count = 1000
    max_overdue_invoices_per_account: Count = 1000
    # The HTTP routes' own connections (a pool apart from the consumer loop's), at most.
    api_db_pool_size: Count = 3
    # Accuracy against recorded outcomes (vigil_model_auc) is recomputed this often; 0: never.
    accuracy_interval_s: float = Field(default=600.0, ge=0)
    # vigil_scoring_accounts (accounts by band and segment) is an exact count, repeated
    # with at most this share of the time spent counting: at every gauge refresh (5 s)
    # while the count is quick, every ~30 s when it reads a million accounts in 0.3 s.
    band_counts_share: float = Field(default=0.01, gt=0, le=1)
    # Event-time watermarks (README "Event time and watermarks"): a caught-up
    # report from ingest younger than this stands for the wall clock.
    watermark_fresh_s: Seconds = 10.0
    # Accounts are judged up to this far past the slowest source's watermark.
    allowed_lateness_s: float = Field(default=60.0, ge=0)
    # Accounts held back by a watermark re-scored per signals batch, at most.
    held_back_chunk: Count = 1000
    # An override (POST /v1/accounts/{id}/overrides) ends at most this many days ahead.
    override_max_days: int = Field(default=90, ge=1, le=3650)
