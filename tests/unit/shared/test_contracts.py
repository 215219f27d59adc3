"""Contract models: valid examples accepted and normalized, invalid ones rejected precisely."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import (
    HealthChange,
    PaymentEvent,
    PlaybookEvent,
    SurveyEvent,
    TicketEvent,
    UsageEvent,
)
from shared.contracts.fields import plain_decimal

PLACEHOLDER = re.compile(r"\{[a-z_]+(![rsa])?\}")  # a message template's field left unfilled
BASE = {"event_id": " ev-1 ", "account_id": " acct-1 ", "occurred_at": "2026-03-01T12:00:00+02:00"}


def event(**fields: Any) -> dict[str, Any]:
    return {**BASE, **fields}


VALID: list[tuple[Any, dict[str, Any]]] = [
    (UsageEvent, event(type="Session Started", user_id="u1")),
    (UsageEvent, event(type="report-exported", user_id="u1", feature="Reports", quantity=3)),
    (TicketEvent, event(type="opened", ticket_id="t1", severity="urgent")),
    (TicketEvent, event(type="updated", ticket_id="t1", severity="low")),
    (TicketEvent, event(type="Resolved", ticket_id="t1")),
    (TicketEvent, event(type="reopened", ticket_id="t1")),
    (TicketEvent, event(type="closed", ticket_id="t1")),
    (TicketEvent, event(type="satisfaction_rated", ticket_id="t1", csat=4)),
    (
        PaymentEvent,
        event(
            type="subscription_started",
            arr="120000.00",
            currency="usd",
            seats=50,
            plan="pro",
            renewal_at="2027-03-01",
        ),
    ),
    (PaymentEvent, event(type="subscription_updated", arr=90000, seats=40)),
    (PaymentEvent, event(type="subscription_canceled")),
    (PaymentEvent, event(type="invoice_paid", invoice_id="i1", amount="100.5")),
    (PaymentEvent, event(type="payment_failed", invoice_id="i1", amount=100)),
    (PaymentEvent, event(type="invoice_overdue", invoice_id="i1", due_at="2026-02-20")),
    (PaymentEvent, event(type="refund_issued", invoice_id="i1", amount="10")),
    (SurveyEvent, event(type="nps", score=0, user_id="u1", comment="meh")),
    (SurveyEvent, event(type="nps", score=10)),
    (SurveyEvent, event(type="csat", score=5)),
    (SurveyEvent, event(type="ces", score=7)),
]


@pytest.mark.parametrize(("model", "data"), VALID)
def test_valid_events_are_accepted_and_normalized(model: Any, data: dict[str, Any]) -> None:
    parsed = model.model_validate(data)
    assert parsed.event_id == "ev-1"
    assert parsed.account_id == "acct-1"
    assert parsed.occurred_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parsed.type == parsed.type.strip().lower()
    assert " " not in parsed.type and "-" not in parsed.type


def test_usage_normalization() -> None:
    parsed = UsageEvent.model_validate(event(type="Session Started", user_id="u1", extra={"k": 1}))
    assert parsed.type == "session_started"
    assert parsed.feature == "session_started"
    assert parsed.quantity == 1.0
    assert parsed.model_extra == {"extra": {"k": 1}}


def test_payment_normalization() -> None:
    parsed = PaymentEvent.model_validate(VALID[8][1])
    assert parsed.arr == Decimal("120000.00")
    assert parsed.currency == "USD"
    assert parsed.renewal_at == date(2027, 3, 1)
    assert parsed.model_dump(mode="json")["arr"] == "120000.00"


INVALID: list[tuple[Any, dict[str, Any], str, str]] = [
    (UsageEvent, event(type="x"), "missing", "user_id"),
    (UsageEvent, {**event(type="x", user_id="u"), "event_id": 42}, "wrong_type", "event_id"),
    (UsageEvent, event(type="x", user_id="u", quantity="5"), "float_type", "quantity"),
    (UsageEvent, event(type="x", user_id="u", quantity=0), "greater_than", "quantity"),
    (UsageEvent, event(type="x", user_id="u" * 129), "id_too_long", "user_id"),
    (
        UsageEvent,
        {**event(type="x", user_id="u"), "occurred_at": "2026-03-01T12:00:00"},
        "timestamp_without_offset",
        "occurred_at",
    ),
    (
        UsageEvent,
        {**event(type="x", user_id="u"), "occurred_at": "yesterday"},
        "invalid_value",
        "occurred_at",
    ),
    (
        UsageEvent,
        event(type="x", user_id="u", schema_version=2),
        "unsupported_schema_version",
        "schema_version",
    ),
    (TicketEvent, event(type="escalated", ticket_id="t"), "literal_error", "type"),
    (
        TicketEvent,
        event(type="opened", ticket_id="t", severity="critical"),
        "literal_error",
        "severity",
    ),
    (TicketEvent, event(type="satisfaction_rated", ticket_id="t"), "missing", "csat"),
    (
        TicketEvent,
        event(type="satisfaction_rated", ticket_id="t", csat=6),
        "less_than_equal",
        "csat",
    ),
    (PaymentEvent, event(type="subscription_started", arr=True), "wrong_type", "arr"),
    (PaymentEvent, event(type="subscription_started", arr="-5"), "invalid_value", "arr"),
    (PaymentEvent, event(type="subscription_started", seats=1.5), "int_type", "seats"),
    (
        PaymentEvent,
        event(type="invoice_paid", currency="dollars"),
        "string_pattern_mismatch",
        "currency",
    ),
    (PaymentEvent, event(type="chargeback"), "literal_error", "type"),
    (SurveyEvent, event(type="nps", score=11), "invalid_value", "score"),
    (SurveyEvent, event(type="ces", score=0), "invalid_value", "score"),
    (SurveyEvent, event(type="nps", score="9"), "int_type", "score"),
]


@pytest.mark.parametrize(("model", "data", "error_type", "field"), INVALID)
def test_invalid_events_are_rejected_with_a_precise_message(
    model: Any, data: dict[str, Any], error_type: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    first = caught.value.errors()[0]
    assert first["type"] == error_type
    assert field in ".".join(map(str, first["loc"])) or field in first["msg"]
    assert not PLACEHOLDER.search(first["msg"]), first["msg"]


def test_an_invalid_time_is_quoted_in_its_message() -> None:
    with pytest.raises(ValidationError) as caught:
        UsageEvent.model_validate({**event(type="x", user_id="u"), "occurred_at": "yesterday"})
    assert caught.value.errors()[0]["msg"] == "is not an RFC 3339 timestamp: 'yesterday'"


def _event_of(playbook: str, segment: str) -> dict[str, Any]:
    return {
        "event_id": "p1",
        "kind": "triggered",
        "account_id": "a",
        "playbook": playbook,
        "episode_id": "e1",
        "at": "2026-03-01T00:00:00Z",
        "due_by": None,
        "reason": "Band entered red",
        "segment": segment,
        "health": {"score": 30, "band": "red", "components": {}},
    }


def test_output_contracts_round_trip() -> None:
    change = HealthChange(
        event_id="h1",
        account_id="a",
        as_of="2026-03-01T00:00:00Z",
        score=42.5,
        previous_score=71,
        band="yellow",
        previous_band="green",
        segment="smb",
        components={"usage": 30, "support": None},
        coverage=0.8,
        reasons=["No product usage in 14 days"],
        model_version="1+abc",
    )
    assert HealthChange.model_validate_json(change.model_dump_json()) == change
    with pytest.raises(ValidationError):
        HealthChange.model_validate({**change.model_dump(), "score": 101})
    playbook = PlaybookEvent.model_validate(_event_of(playbook="at_risk", segment="smb"))
    assert PlaybookEvent.model_validate_json(playbook.model_dump_json()) == playbook


EXPLANATION = {
    "scorecard_version": "1+0a1b2c3d",
    "segment": "smb",
    "measures": {"payment_failures_90d": {"value": 2.0, "points": None}},
    "components": {
        "payment": {"value": 50.0, "weight": 0.2},
        "support": {"value": None, "weight": 0.2},
    },
    "weighted_mean": 83.0,
    "caps": [{"flag": "payment_failed_30d", "cap": 55.0, "effect": -28.0}],
}


def test_a_change_carries_its_explanation_and_one_without_still_validates() -> None:
    base = {
        "event_id": "h1",
        "account_id": "a",
        "as_of": "2026-03-01T00:00:00Z",
        "score": 55,
        "previous_score": None,
        "band": "yellow",
        "previous_band": None,
        "segment": "smb",
        "components": {},
        "coverage": 1,
        "reasons": [],
        "model_version": "1",
    }
    assert HealthChange.model_validate(base).explanation is None
    change = HealthChange.model_validate({**base, "explanation": EXPLANATION})
    assert change.explanation is not None
    assert change.explanation.caps[0].effect == -28.0
    assert HealthChange.model_validate_json(change.model_dump_json()) == change
    raised = {**EXPLANATION, "caps": [{"flag": "f", "cap": 55.0, "effect": 1.0}]}
    with pytest.raises(ValidationError, match=r"caps\.0\.effect"):
        HealthChange.model_validate({**base, "explanation": raised})


@pytest.mark.parametrize("name", ["enterprise", "self_serve", "emea_enterprise", "a" * 64])
def test_segments_and_playbooks_are_names_the_built_in_ones_among_them(name: str) -> None:
    event = PlaybookEvent.model_validate(_event_of(playbook=name, segment=name))
    assert (event.playbook, event.segment) == (name, name)


@pytest.mark.parametrize("name", ["", "Enterprise", "1smb", "smb-eu", "a" * 65, "smb\n"])
def test_a_name_outside_the_pattern_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="segment"):
        PlaybookEvent.model_validate(_event_of(playbook="at_risk", segment=name))


BOUNDED: list[tuple[Any, dict[str, Any], str, str]] = [
    (PaymentEvent, event(type="subscription_started", seats=2_147_483_648), "seats", "le"),
    (UsageEvent, event(type="x", user_id="u", quantity=1e308), "quantity", "le"),
    (UsageEvent, event(type="x", user_id="u", quantity=float("nan")), "quantity", "finite"),
    (UsageEvent, event(type="x", user_id="u", quantity=float("inf")), "quantity", "finite"),
    (PaymentEvent, event(type="invoice_paid", amount="9" * 200_000), "amount", "out_of_range"),
    (PaymentEvent, event(type="invoice_paid", amount="1e300"), "amount", "out_of_range"),
    (PaymentEvent, event(type="invoice_paid", amount="1.00001"), "amount", "out_of_range"),
    (
        UsageEvent,
        event(type="x", user_id="u", occurred_at="0001-01-01T00:00:00Z"),
        "occurred_at",
        "out_of_range",
    ),
    (
        UsageEvent,
        event(type="x", user_id="u", occurred_at="0001-01-01T00:00:00+01:00"),
        "occurred_at",
        "out_of_range",
    ),
    (
        UsageEvent,
        event(type="x", user_id="u", occurred_at="9999-12-31T23:59:59-01:00"),
        "occurred_at",
        "out_of_range",
    ),
    (
        PaymentEvent,
        event(type="subscription_started", renewal_at="0001-01-01"),
        "renewal_at",
        "out_of_range",
    ),
    (SurveyEvent, event(type="nps", score=5, comment="c" * 5000), "comment", "too_long"),
    (UsageEvent, event(type="x", user_id="u\x00"), "user_id", "nul_character"),
]


@pytest.mark.parametrize(("model", "data", "field", "kind"), BOUNDED)
def test_every_value_is_bounded_and_the_error_names_the_field(
    model: Any, data: dict[str, Any], field: str, kind: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    first = caught.value.errors(include_url=False)[0]
    assert first["loc"] == (field,)
    assert kind in first["type"]


def test_money_is_plain_decimal_whatever_its_input_notation() -> None:
    # what health.changes and the API print for an account's ARR read back from numeric
    assert plain_decimal(Decimal("1.5E+5")) == "150000"
    assert plain_decimal(Decimal("120000.00")) == "120000.00"
    paid = PaymentEvent.model_validate(event(type="subscription_started", arr="1.5E+5"))
    assert paid.model_dump(mode="json")["arr"] == "150000"
    assert PaymentEvent.model_validate(event(type="invoice_paid", amount=1e14)).amount == Decimal(
        "100000000000000"
    )
