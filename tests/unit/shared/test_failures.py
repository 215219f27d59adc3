"""One classification: transient failures are retried, permanent ones dead-lettered."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shared.consumer.failures import FailureKind, classify, describe, reason_code
from shared.contracts import PaymentEvent
from shared.errors import DatabaseUnavailable


def wrapped(
    cause: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.DBAPIError
) -> BaseException:
    """How SQLAlchemy's asyncpg dialect hands a driver error to us."""
    adapted = Exception(str(cause))
    adapted.__cause__ = cause
    return kind("INSERT ... [SQL: INSERT] [parameters: (2147483648,)]", {}, adapted)


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        PaymentEvent.model_validate({"seats": 2**31})
    return caught.value


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (DatabaseUnavailable("down"), FailureKind.transient),
        (KafkaConnectionError(), FailureKind.transient),
        (ConnectionResetError(), FailureKind.transient),
        (TimeoutError(), FailureKind.transient),
        # the pool had no connection free in time (a load, not a bad record)
        (
            sa_exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
            FailureKind.transient,
        ),
        (wrapped(asyncpg.exceptions.SerializationError("conflict")), FailureKind.transient),
        (wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("gone")), FailureKind.transient),
        # asyncpg's client-side DataError subclasses InterfaceError: not a lost connection
        (
            wrapped(
                asyncpg.exceptions._base.DataError("value out of int32 range"),
                sa_exc.InterfaceError,
            ),
            FailureKind.permanent,
        ),
        (
            wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("overflow")),
            FailureKind.permanent,
        ),
        (MessageSizeTooLargeError(), FailureKind.permanent),
        (validation_error(), FailureKind.permanent),
        (OverflowError("date value out of range"), FailureKind.permanent),
        (KeyError("x"), FailureKind.permanent),
    ],
)
def test_classify(error: BaseException, kind: FailureKind) -> None:
    assert classify(error) is kind


def test_reason_codes_and_descriptions_are_bounded_and_free_of_parameters() -> None:
    db = wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("value out of range: overflow"))
    assert reason_code(db) == "database_rejected"
    assert describe(db) == "NumericValueOutOfRangeError: value out of range: overflow"
    assert reason_code(validation_error()) == "contract_violation"
    assert reason_code(MessageSizeTooLargeError()) == "too_large"
    assert reason_code(ZeroDivisionError()) == "handler_error"
    assert len(describe(ValueError("x" * 10_000))) == 1000
    assert "parameters" not in describe(wrapped(RuntimeError("boom [SQL: x] [parameters: 1]")))
