"""Settings shared by every service.

One class per service lives next to it (``services/<name>/config.py``) and
subclasses :class:`CommonSettings`. Settings are built once, in the service's
``create_app``/``run``, and passed down; library code never reads the
environment itself.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings.connections import (
    KafkaConnection,
    KafkaProtocol,
    KafkaSecurity,
    PostgresTls,
    SaslMechanism,
    SslMode,
)

# Constrained field types, so a service overrides a default without restating the bounds.
Port = Annotated[int, Field(ge=0, le=65535)]
Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0)]

PLACEHOLDER_TOKENS = frozenset({"", "changeme", "change-me", "secret"})
# 32 characters of a random token (e.g. ``openssl rand -hex 32``) cannot be guessed online
MIN_TOKEN_CHARS = 32


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
    # records that fail for good in scoring / triggers (the ingest.dlq contract, with a stage)
    scoring_dlq: str = "scoring.dlq"
    triggers_dlq: str = "triggers.dlq"

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


@dataclass(frozen=True)
class TopicSpec:
    """How Vigil creates its topics; ``None`` leaves a setting to the broker's default."""

    partitions: int = 4
    replication_factor: int | None = None
    min_insync_replicas: int | None = None


class ConnectionSettings(BaseSettings):
    """Where Kafka and PostgreSQL are and how to reach them securely (docs/security.md):
    what every service and every ``vigil`` command that connects needs."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Kafka security, the fields of KafkaSecurity with a ``kafka_`` prefix
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_oauth_token_file: FilePath | None = None
    kafka_ssl_cafile: FilePath | None = None
    kafka_ssl_certfile: FilePath | None = None
    kafka_ssl_keyfile: FilePath | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    database_url: str = "postgresql+asyncpg://vigil@127.0.0.1:5432/vigil"
    # TLS to PostgreSQL, the fields of PostgresTls with a ``database_`` prefix
    database_sslmode: SslMode | None = None
    database_sslrootcert: FilePath | None = None
    database_sslcert: FilePath | None = None
    database_sslkey: FilePath | None = None
    database_sslkey_password: SecretStr | None = None

    @property
    def kafka(self) -> KafkaConnection:
        """The brokers and the security every Kafka client of the service uses."""
        fields = {name: getattr(self, f"kafka_{name}") for name in KafkaSecurity.model_fields}
        return KafkaConnection(bootstrap=self.kafka_bootstrap, security=KafkaSecurity(**fields))

    @property
    def database_tls(self) -> PostgresTls:
        return PostgresTls(
            **{name: getattr(self, f"database_{name}") for name in PostgresTls.model_fields}
        )

    @model_validator(mode="after")
    def _security_consistent(self) -> ConnectionSettings:
        """Refused at start, with the variables to fix, rather than at the first connection."""
        _ = self.kafka, self.database_tls
        return self

    def connection_secrets(self) -> list[str]:
        """The passwords of the connections, for the log redactor."""
        keys = self.kafka.security.secrets()
        if self.database_sslkey_password is not None:
            keys.append(self.database_sslkey_password.get_secret_value())
        return keys


class CommonSettings(ConnectionSettings):
    """What every service needs: Kafka, PostgreSQL, the API tokens, logging.

    Environment variables use the ``VIGIL_`` prefix; nested topic names use
    ``__`` (``VIGIL_TOPICS__SIGNALS=my-signals``).

    Tokens: ``api_token`` (required, no default) is the admin token and opens
    every route; ``read_token`` opens only reads, ``write_token`` only event
    ingestion and the playbook episodes' lifecycle (a CSM tool's actions). Each is at
    least 32 characters.
    """

    api_token: SecretStr
    read_token: SecretStr | None = None
    write_token: SecretStr | None = None
    topics: TopicNames = TopicNames()
    # Partitions cap the busy instances of each service (one consumer per partition).
    topic_partitions: int = Field(default=4, ge=1)
    # None: the broker's default.replication.factor / min.insync.replicas.
    topic_replication_factor: int | None = Field(default=None, ge=1)
    topic_min_insync_replicas: int | None = Field(default=None, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    http_host: str = "127.0.0.1"
    http_port: Port = 8080
    # None: claimed per process at start (host name + a free slot), see services/ingest/instance.py.
    instance_id: str | None = None
    # Where the per-host slot lock files live; None: a per-user folder in the temp dir.
    instance_lock_dir: str | None = None
    # every request body is capped, checked before auth and before it is read past the cap
    http_max_body_bytes: int = Field(default=65_536, ge=1024)
    shutdown_timeout_s: float = Field(default=10.0, gt=0)
    # how often each replica looks for a config version stored by another
    config_poll_interval_s: float = Field(default=2.0, gt=0, le=60)
    # A consumer lagging with no progress for this long is restarted in-process.
    stuck_after_s: float = Field(default=60.0, gt=0)

    @property
    def topic_spec(self) -> TopicSpec:
        return TopicSpec(
            self.topic_partitions, self.topic_replication_factor, self.topic_min_insync_replicas
        )

    @property
    def instance_label(self) -> str:
        """The instance id, or the host name when none was set (for client ids and logs)."""
        return self.instance_id or socket.gethostname()

    @field_validator("api_token", "read_token", "write_token")
    @classmethod
    def _strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if token.strip().lower() in PLACEHOLDER_TOKENS:
            raise ValueError("must be set to a real secret")
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"
            )
        return value

    def secrets(self) -> list[str]:
        """Every token value, for the log redactor."""
        tokens = (self.api_token, self.read_token, self.write_token)
        return [t.get_secret_value() for t in tokens if t is not None] + self.connection_secrets()

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()


class ConsumerServiceSettings(CommonSettings):
    """A service that consumes its input topics as one consumer group (all three do)."""

    group_id: str = "vigil"
    batch_max_records: Count = 2000
    fetch_timeout_ms: Count = 200
    # How often consumer lag is measured from end offsets and the stored position.
    lag_interval_s: Seconds = 5.0


class StatefulServiceSettings(ConsumerServiceSettings):
    """Scoring and triggers: state in PostgreSQL, an outbox relay, a periodic clock."""

    db_pool_size: Count = 5
    # After a batch, the records buffered are topped up with what the broker has by
    # waiting this long more (shared.kafka.clients.fetch_fresh); 0: no top-up.
    fetch_top_up_ms: int = Field(default=20, ge=0, le=5000)
    outbox_poll_interval_s: Seconds = 0.5
    # The clock pass runs this often (0 disables it, as does ``clock_enabled``).
    clock_interval_s: float = Field(default=300.0, ge=0)
    clock_enabled: bool = True
    clock_chunk_size: Count = 1000
    # Processes a big clock pass is split across, by account range (one per core);
    # a plan that cannot be split (triggers) runs in the service's process.
    clock_workers: Count = Field(default_factory=lambda: os.cpu_count() or 1)
    # clock routes refuse times further than this from the wall clock...
    clock_max_skew_s: float = Field(default=86_400.0, gt=0, le=366 * 86_400)
    # ...unless this test/replay setting is on (VIGIL_CLOCK_ANY_TIME=true)
    clock_any_time: bool = False
    # A dead letter at this attempt is reported by a redrive, never sent again (shared.dlq).
    dlq_max_attempts: int = Field(default=2, ge=1, le=100)

    @property
    def clock_runs(self) -> bool:
        return self.clock_enabled and self.clock_interval_s > 0


def explain(error: ValidationError, prefix: str = "VIGIL_") -> str:
    """A settings error as lines naming the environment variables to fix (no values shown)."""
    lines = ["invalid settings, the service cannot start:"]
    for issue in error.errors(include_input=False, include_url=False):
        name = prefix + "__".join(str(part) for part in issue["loc"]).upper()
        message = "is not set" if issue["type"] == "missing" else issue["msg"]
        message = message.removeprefix("Value error, ")
        # a check across settings names its variables in its message
        lines.append(f"  {name}: {message}" if issue["loc"] else f"  {message}")
    return "\n".join(lines)
