"""Secrets the integration tests start services with (test-only values)."""

from __future__ import annotations

# a Fernet key for webhook secrets at rest (VIGIL_SECRETS_KEY); never used outside tests
SECRETS_KEY = "GNt-HK2kEVhQHMI6ZZU3skIqUssuhE2ZxLBudhYFutY="
