"""Structured JSON logging for every service (structlog over the stdlib).

Log lines carry ``service`` and, where known, ``account_id`` and
``event_id``. Secrets never reach a log line: settings hold them as
``SecretStr`` and :func:`redact_secrets` masks any configured secret that a
third-party library might still print.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import structlog

_SECRETS: list[str] = []
# A fresh broker creates the coordinators' topics (__consumer_offsets, __transaction_state)
# on first use; until they are ready aiokafka logs each coordinator lookup at ERROR. That
# is expected in a process's first minute, and said at INFO then.
STARTING_S = 60.0


class StartupNoise(logging.Filter):
    """Lowers "coordinator not available" records to INFO while the process starts."""

    def __init__(self, starting_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._until = clock() + starting_s

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno > logging.INFO
            and self._clock() < self._until
            and "CoordinatorNotAvailable" in record.getMessage()
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def redact_secrets(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask every registered secret in string values."""
    if not _SECRETS:
        return event_dict
    for key, value in event_dict.items():
        if isinstance(value, str):
            for secret in _SECRETS:
                if secret in value:
                    value = value.replace(secret, "***")
            event_dict[key] = value
    return event_dict


def configure_logging(
    service: str, *, level: str = "INFO", json: bool = True, secrets: Iterable[str] = ()
) -> None:
    """Route structlog and stdlib logging to stderr as one JSON object a line."""
    _SECRETS[:] = [s for s in secrets if s]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.addFilter(StartupNoise(STARTING_S))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka logs every reconnect attempt at ERROR; our own retry logs say more.
    logging.getLogger("aiokafka").setLevel(max(logging.getLevelName(level), logging.WARNING))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger; bind ``account_id``/``event_id`` where known."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
