"""Transient or permanent: the one place that decides whether a failure is retried.

::

    transient  retry the same work later, with backoff
      ├── TransientError (BrokerUnavailable, DatabaseUnavailable)
      ├── a lost or refused database connection, a serialization failure or a
      │   deadlock (``shared.database.engine.is_transient_db_error``)
      ├── a broker error (``KafkaError``), except a record the broker can never take
      └── OSError, ConnectionError, TimeoutError
    permanent  the same input fails the same way again: isolate the record and
               dead-letter it
      ├── a value the database refuses (out of range, overflow, bad encoding),
      │   including asyncpg's client-side ``DataError`` (an int over int32), which
      │   subclasses ``InterfaceError`` and so looked like a lost connection
      ├── a record too large for the broker
      └── any other exception, e.g. from a handler's pure code

The order matters: data errors are checked before the transient tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from enum import StrEnum

import asyncpg
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from pydantic import ValidationError
from sqlalchemy.exc import PendingRollbackError

from shared.database.engine import is_transient_db_error
from shared.errors import TransientError


class FailureKind(StrEnum):
    transient = "transient"
    permanent = "permanent"


_PERMANENT_CAUSES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DataError,  # server side: 22xxx (out of range, overflow, ...)
    asyncpg.exceptions._base.DataError,  # client side: a parameter the type cannot hold
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.SyntaxOrAccessError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)


def classify(error: BaseException) -> FailureKind:
    """Whether retrying ``error``'s work may succeed (transient) or never will."""
    if any(isinstance(cause, _PERMANENT_CAUSES) for cause in causes(error)):
        return FailureKind.permanent
    chain = list(causes(error))
    # a lost connection anywhere in the chain (or a transaction it invalidated) is an outage,
    # not a bad record: dead-lettering during an outage would lose good records
    if any(isinstance(c, TransientError | PendingRollbackError) for c in chain):
        return FailureKind.transient
    if any(is_transient_db_error(c) for c in chain):
        return FailureKind.transient
    if isinstance(error, KafkaError | OSError | ConnectionError | asyncio.TimeoutError):
        return FailureKind.transient
    return FailureKind.permanent


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's ``orig``) and its causes, bounded."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "orig", None)
        if isinstance(wrapped, BaseException) and id(wrapped) not in seen:
            yield wrapped
            seen.add(id(wrapped))
            current = wrapped.__cause__ or wrapped.__context__
        else:
            current = current.__cause__ or current.__context__


def describe(error: BaseException, limit: int = 1000) -> str:
    """A bounded, one-line description for a dead-letter reason (no bound parameters)."""
    root = error
    for cause in causes(error):
        root = cause
    text = f"{type(root).__name__}: {root}".replace("\n", " ")
    # SQLAlchemy appends "[SQL: ...] [parameters: ...]": parameters may hold data
    text = text.split("[SQL:", 1)[0].strip()
    return text[:limit]


def reason_code(error: BaseException) -> str:
    """The machine-readable reason of a dead letter for ``error``."""
    for cause in causes(error):
        if isinstance(cause, ValidationError):
            return "contract_violation"
        if isinstance(cause, MessageSizeTooLargeError | RecordTooLargeError):
            return "too_large"
        if isinstance(cause, _PERMANENT_CAUSES):
            return "database_rejected"
    return "handler_error"
