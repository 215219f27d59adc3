"""The one exception hierarchy of Vigil.

::

    VigilError
    ├── ConfigError             settings or stored config are invalid (fatal at start)
    ├── NotFound                an API resource does not exist (HTTP 404)
    ├── Conflict                an API update conflicts with stored state (HTTP 409)
    ├── InvalidInput            a request or stored config failed validation (HTTP 422)
    └── TransientError          the broker or database is unreachable: retry with backoff
        ├── BrokerUnavailable
        └── DatabaseUnavailable

Events that fail their contract are not exceptions of this tree: ingest turns
them into dead-letter records (``services.ingest.validation.InvalidEvent``).
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""


class ConfigError(VigilError):
    """Settings or stored configuration are invalid."""


class NotFound(VigilError):
    """The requested resource does not exist."""


class Conflict(VigilError):
    """The request conflicts with the stored state."""


class InvalidInput(VigilError):
    """The request failed validation."""


class TransientError(VigilError):
    """A dependency is unavailable for now; the caller retries with backoff."""


class BrokerUnavailable(TransientError):
    """Kafka could not be reached or refused the request for now."""


class DatabaseUnavailable(TransientError):
    """PostgreSQL could not be reached or the connection dropped."""


def http_status_for(error: VigilError) -> int:
    """Map an error to its HTTP status code (the one place that does)."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, TransientError):
        return 503
    return 500
