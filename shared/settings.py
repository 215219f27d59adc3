"""Settings shared by every service.

One class per service lives next to it (``services/<name>/config.py``) and
subclasses :class:`CommonSettings`. Settings are built once, in the service's
``create_app``/``run``, and passed down; library code never reads the
environment itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Constrained field types, so a service overrides a default without restating the bounds.
Port = Annotated[int, Field(ge=0, le=65535)]
Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0)]

PLACEHOLDER_TOKENS = frozenset({"", "changeme", "change-me", "secret"})


class TopicNames(BaseModel):
    """Kafka topic names; the defaults are those of docs/DESIGN.md ("Architecture")."""

    model_config = {"frozen": True}

    usage: str = "usage.events"
    ticket: str = "ticket.events"
    payment: str = "payment.events"
    survey: str = "survey.events"
    signals: str = "signals"
    dlq: str = "ingest.dlq"
    health_changes: str = "health.changes"
    playbook_events: str = "playbook.events"

    def raw_topics(self) -> dict[str, str]:
        """Raw topic name -> source name (``usage``, ``ticket``, ...)."""
        return {
            self.usage: "usage",
            self.ticket: "ticket",
            self.payment: "payment",
            self.survey: "survey",
        }

    def topic_of_source(self) -> dict[str, str]:
        """Source name -> raw topic name, the inverse of :meth:`raw_topics`."""
        return {source: topic for topic, source in self.raw_topics().items()}


class CommonSettings(BaseSettings):
    """What every service needs: Kafka, PostgreSQL, the API token, logging.

    Environment variables use the ``VIGIL_`` prefix; nested topic names use
    ``__`` (``VIGIL_TOPICS__SIGNALS=my-signals``).
    """

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql+asyncpg://vigil@127.0.0.1:5432/vigil"
    api_token: SecretStr = Field(default=SecretStr("dev-token-change-me"))
    topics: TopicNames = TopicNames()
    topic_partitions: int = Field(default=4, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    http_host: str = "127.0.0.1"
    http_port: Port = 8080
    instance_id: str = "0"
    shutdown_timeout_s: float = Field(default=10.0, gt=0)
    # A consumer lagging with no progress for this long is restarted in-process.
    stuck_after_s: float = Field(default=60.0, gt=0)

    @field_validator("api_token")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip().lower() in PLACEHOLDER_TOKENS:
            raise ValueError("VIGIL_API_TOKEN must be set to a real secret")
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()


class ConsumerServiceSettings(CommonSettings):
    """A service that consumes its input topics as one consumer group (all three do)."""

    group_id: str = "vigil"
    batch_max_records: Count = 2000
    fetch_timeout_ms: Count = 200


class StatefulServiceSettings(ConsumerServiceSettings):
    """Scoring and triggers: state in PostgreSQL, an outbox relay, a periodic clock."""

    db_pool_size: Count = 5
    outbox_poll_interval_s: Seconds = 0.5
    # The clock pass runs this often (0 disables it, as does ``clock_enabled``).
    clock_interval_s: float = Field(default=300.0, ge=0)
    clock_enabled: bool = True
    clock_chunk_size: Count = 1000

    @property
    def clock_runs(self) -> bool:
        return self.clock_enabled and self.clock_interval_s > 0
