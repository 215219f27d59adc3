"""Settings of the ingest service."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.signals import Source
from shared.settings.common import ConsumerServiceSettings, Count, Port


class IngestSettings(ConsumerServiceSettings):
    """Ingest: raw topics in, ``signals`` and ``ingest.dlq`` out."""

    group_id: str = "vigil-ingest"
    http_port: Port = 8081
    max_event_bytes: int = Field(default=1_048_576, ge=1024)
    max_json_depth: int = Field(default=8, ge=2)
    http_max_batch_events: Count = 1000
    http_max_body_bytes: int = Field(default=8 * 1_048_576, ge=1024)
    # One Kafka transaction per batch, at most this often (shared.kafka.clients.Pacer): under
    # load, fuller batches and far less broker work; at most this long added to a hop.
    transaction_interval_ms: int = Field(default=50, ge=0, le=5000)
    # Kafka transactions make a restart re-produce nothing; each instance
    # needs its own id so that a restarted instance fences its zombie.
    transactional_id_prefix: str = "vigil-ingest"
    # Event-time watermarks (docs/event-time.md): an idle partition's watermark is
    # the wall clock less this lateness...
    allowed_lateness_s: float = Field(default=60.0, ge=0)
    # ...idle: read to its end and nothing new read for this long (a partition a
    # replay is still writing to is often at its end for a moment, and not idle).
    watermark_idle_s: float = Field(default=5.0, ge=0)
    # ...and is re-sent on every signals partition at most this often when unchanged.
    watermark_interval_ms: int = Field(default=2000, ge=50)
    # Sources whose topic holds time back while nothing was ever produced to it
    # (a backfill producing one source after another); others are idle when empty.
    expected_sources: list[Source] = Field(default_factory=list)

    @property
    def transactional_id(self) -> str:
        return f"{self.transactional_id_prefix}-{self.instance_id}"
