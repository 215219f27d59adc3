"""Settings of the triggers service."""

from __future__ import annotations

from services.triggers.webhooks.config import WebhookSettings
from shared.settings import Port, StatefulServiceSettings


class TriggersSettings(StatefulServiceSettings):
    """Triggers: ``health.changes`` and the clock in, ``playbook.events`` and webhooks out."""

    group_id: str = "vigil-triggers"
    http_port: Port = 8083
    webhooks: WebhookSettings = WebhookSettings()
