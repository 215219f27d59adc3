"""Settings of the triggers service."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.triggers.webhooks.config import WebhookSettings
from services.triggers.webhooks.secrets import SecretBox
from shared.settings import CommonSettings


class TriggersSettings(CommonSettings):
    """Triggers: ``health.changes`` and the clock in, ``playbook.events`` and webhooks out."""

    group_id: str = "vigil-triggers"
    http_port: int = Field(default=8083, ge=0, le=65535)
    batch_max_records: int = Field(default=2000, ge=1)
    fetch_timeout_ms: int = Field(default=200, ge=1)
    clock_interval_s: float = Field(default=300.0, ge=0)
    clock_enabled: bool = True
    # clock endpoints refuse times further than this from the wall clock...
    clock_max_skew_s: float = Field(default=86_400.0, gt=0, le=366 * 86_400)
    # ...unless this test/replay setting is on (VIGIL_CLOCK_ANY_TIME=true)
    clock_any_time: bool = False
    clock_chunk_size: int = Field(default=1000, ge=1)
    outbox_poll_interval_s: float = Field(default=0.5, gt=0)
    db_pool_size: int = Field(default=5, ge=1)
    webhooks: WebhookSettings = WebhookSettings()
    # Fernet key(s), comma-separated, first one encrypts: webhook secrets at rest
    secrets_key: SecretStr

    @field_validator("secrets_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        SecretBox(value.get_secret_value())  # raises ValueError saying what a key looks like
        return value

    def secrets(self) -> list[str]:
        keys = [k.strip() for k in self.secrets_key.get_secret_value().split(",") if k.strip()]
        return [*super().secrets(), *keys]
