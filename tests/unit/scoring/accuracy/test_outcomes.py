"""Outcomes derived from an account's facts, and validated from outside."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest
from pydantic import ValidationError

from services.scoring.trust.accuracy.outcomes import (
    MAX_OUTCOMES_PER_POST,
    OutcomeBatch,
    RenewalUpdate,
    derived_outcomes,
    renewals_from_updates,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_a_cancellation_is_a_churn_on_its_date() -> None:
    [outcome] = derived_outcomes(
        "a", canceled_at=datetime(2026, 5, 20, 9, tzinfo=UTC), renewal_at=None, as_of=NOW
    )
    assert (outcome.kind, outcome.on, outcome.source) == ("churn", date(2026, 5, 20), "payment")


def test_a_passed_renewal_date_without_cancellation_is_a_renewal() -> None:
    [outcome] = derived_outcomes("a", canceled_at=None, renewal_at=date(2026, 5, 31), as_of=NOW)
    assert (outcome.kind, outcome.on) == ("renewal", date(2026, 5, 31))
    assert derived_outcomes("a", canceled_at=None, renewal_at=date(2026, 6, 2), as_of=NOW) == []


def test_canceled_before_the_renewal_date_is_no_renewal() -> None:
    found = derived_outcomes(
        "a",
        canceled_at=datetime(2026, 5, 1, tzinfo=UTC),
        renewal_at=date(2026, 5, 31),
        as_of=NOW,
    )
    assert [o.kind for o in found] == ["churn"]


def test_a_cancellation_after_as_of_is_not_known_yet() -> None:
    later = datetime(2026, 6, 2, tzinfo=UTC)
    assert derived_outcomes("a", canceled_at=later, renewal_at=None, as_of=NOW) == []


@pytest.mark.parametrize(
    "item",
    [
        {"account_id": "", "kind": "churn", "date": "2026-05-01"},
        {"account_id": "a", "kind": "lost", "date": "2026-05-01"},
        {"account_id": "a", "kind": "churn", "date": "yesterday"},
        {"account_id": "a", "kind": "churn", "date": "2026-05-01", "extra": 1},
        # what the OpenAPI schema refuses is refused: no stripping, no timestamps, the window
        {"account_id": " a", "kind": "churn", "date": "2026-05-01"},
        {"account_id": "a\x00b", "kind": "churn", "date": "2026-05-01"},
        {"account_id": "a" * 129, "kind": "churn", "date": "2026-05-01"},
        {"account_id": "a", "kind": "churn", "date": "2026-05-01T00:00:00Z"},
        {"account_id": "a", "kind": "churn", "date": "1999-12-31"},
        {"account_id": "a", "kind": "churn", "date": "2026-02-30"},
        {"account_id": "a", "kind": "churn", "date": "2026-05-01", "id": "x "},
    ],
)
def test_bad_labels_are_refused(item: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OutcomeBatch.model_validate({"outcomes": [item]})


def test_a_label_as_the_schema_allows_is_accepted() -> None:
    item = {"account_id": "a b", "kind": "renewal", "date": "2099-12-31", "id": "crm 1"}
    [label] = OutcomeBatch.model_validate({"outcomes": [item]}).outcomes
    assert (label.account_id, label.date, label.id) == ("a b", date(2099, 12, 31), "crm 1")


def test_a_renewal_date_moved_forward_after_it_passed_is_a_renewal() -> None:
    old = date(2026, 5, 31)
    update = RenewalUpdate("a", datetime(2026, 6, 1, 9, tzinfo=UTC), date(2027, 5, 31))
    [outcome] = renewals_from_updates({"a": (old, None)}, [update])
    assert (outcome.kind, outcome.on, outcome.source) == ("renewal", old, "payment")


def test_an_early_or_canceled_or_first_renewal_date_is_no_renewal() -> None:
    old = date(2026, 5, 31)
    early = RenewalUpdate("a", datetime(2026, 5, 20, tzinfo=UTC), date(2027, 5, 31))
    assert renewals_from_updates({"a": (old, None)}, [early]) == []
    late = RenewalUpdate("a", datetime(2026, 6, 2, tzinfo=UTC), date(2027, 5, 31))
    canceled = datetime(2026, 5, 1, tzinfo=UTC)
    assert renewals_from_updates({"a": (old, canceled)}, [late]) == []
    assert renewals_from_updates({}, [late]) == []


def test_updates_in_one_batch_chain() -> None:
    first = RenewalUpdate("a", datetime(2026, 6, 1, tzinfo=UTC), date(2026, 7, 1))
    second = RenewalUpdate("a", datetime(2026, 7, 2, tzinfo=UTC), date(2027, 7, 1))
    found = renewals_from_updates({"a": (date(2026, 5, 31), None)}, [second, first])
    assert [o.on for o in found] == [date(2026, 5, 31), date(2026, 7, 1)]


def test_a_date_moved_back_then_forward_is_a_renewal_in_one_batch_or_two() -> None:
    """The fold overwrites the date even with an earlier one; the chain must do the same."""
    previous = {"a": (date(2026, 8, 31), None)}
    back = RenewalUpdate("a", datetime(2026, 2, 9, tzinfo=UTC), date(2026, 2, 14))
    forward = RenewalUpdate("a", datetime(2026, 2, 15, tzinfo=UTC), date(2027, 2, 14))
    together = renewals_from_updates(previous, [back, forward])
    apart = renewals_from_updates(previous, [back]) + renewals_from_updates(
        {"a": (back.renewal_at, None)}, [forward]
    )
    assert together == apart
    assert [(o.kind, o.on) for o in together] == [("renewal", date(2026, 2, 14))]


def test_a_full_batch_of_ordinary_labels_fits_the_default_body_cap() -> None:
    """maxItems must be reachable: past it a POST gets 422, not the body cap's 413."""
    item = {"account_id": "acct-00001", "kind": "renewal", "date": "2026-03-01", "id": "crm-1"}
    full = {"outcomes": [item] * MAX_OUTCOMES_PER_POST}
    assert len(OutcomeBatch.model_validate(full).outcomes) == MAX_OUTCOMES_PER_POST
    assert len(orjson.dumps({"outcomes": [item] * (MAX_OUTCOMES_PER_POST + 1)})) < 65536
    with pytest.raises(ValidationError):
        OutcomeBatch.model_validate({"outcomes": [item] * (MAX_OUTCOMES_PER_POST + 1)})
