"""The one exception hierarchy of Vigil.

::

    VigilError
    ├── Unauthorized            no valid bearer token for the route (HTTP 401)
    ├── NotFound                an API resource does not exist (HTTP 404)
    ├── Conflict                an API update conflicts with stored state (HTTP 409)
    ├── PayloadTooLarge         a request body or batch is over its cap (HTTP 413)
    ├── InvalidInput            a request or a config failed validation (HTTP 422)
    └── TransientError          the broker or database is unreachable: retry with backoff (503)
        ├── BrokerUnavailable
        └── DatabaseUnavailable

Events that fail their contract are not exceptions of this tree: ingest turns
them into dead-letter records (``services.ingest.domain.validation.InvalidEvent``).
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""


class Unauthorized(VigilError):
    """The request carries no bearer token that opens this route."""


class NotFound(VigilError):
    """The requested resource does not exist."""


class Conflict(VigilError):
    """The request conflicts with the stored state."""


class PayloadTooLarge(VigilError):
    """The request body (or the batch it holds) is over its limit."""


class InvalidInput(VigilError):
    """The request failed validation."""


class TransientError(VigilError):
    """A dependency is unavailable for now; the caller retries with backoff."""


class BrokerUnavailable(TransientError):
    """Kafka could not be reached or refused the request for now."""


class DatabaseUnavailable(TransientError):
    """PostgreSQL could not be reached or the connection dropped."""


_STATUS: tuple[tuple[type[VigilError], int], ...] = (
    (Unauthorized, 401),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (InvalidInput, 422),
    (TransientError, 503),
)


def http_status_for(error: VigilError) -> int:
    """Map an error to its HTTP status code (the one place that does)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500
