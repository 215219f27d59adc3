"""Settings of the triggers service."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.triggers.webhooks.config import WebhookSettings
from services.triggers.webhooks.secrets import SecretBox
from shared.settings.common import Port, StatefulServiceSettings


class TriggersSettings(StatefulServiceSettings):
    """Triggers: ``health.changes`` and the clock in, ``playbook.events`` and webhooks out."""

    group_id: str = "vigil-triggers"
    http_port: Port = 8083
    webhooks: WebhookSettings = WebhookSettings()
    # Fernet key(s), comma-separated, first one encrypts: webhook secrets at rest
    secrets_key: SecretStr
    # the feedback gauges cover the episodes opened this many days back, refreshed this often
    feedback_window_days: float = Field(default=90.0, gt=0, le=3650)
    feedback_refresh_s: float = Field(default=60.0, ge=0)

    @field_validator("secrets_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        SecretBox(value.get_secret_value())  # raises ValueError saying what a key looks like
        return value

    def secrets(self) -> list[str]:
        keys = [k.strip() for k in self.secrets_key.get_secret_value().split(",") if k.strip()]
        return [*super().secrets(), *keys]
