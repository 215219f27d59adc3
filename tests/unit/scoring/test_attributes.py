"""Which extra fields of a subscription event become account attributes."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.attributes import (
    MAX_ATTRIBUTES,
    MAX_TEXT,
    latest_values,
    stamp,
    subscription_attributes,
)


def test_scalars_with_names_a_scorecard_can_spell_are_kept() -> None:
    extra = {
        "region": "apac",
        "employees": 1200,
        "churn_risk": 0.25,
        "Industry": "retail",  # a scorecard could not name it
        "tags": ["a"],
        "owner": {"id": 1},
        "trial": True,
        "note": "",
        "blob": "x" * (MAX_TEXT + 1),  # left out, not cut
        "nul": "a\x00b",
        "huge": 1e300,
        "huge_int": 10**400,  # JSON numbers have no bound; a float cannot hold this one
        "nan": math.nan,
    }
    assert subscription_attributes(extra) == {
        "region": "apac",
        "employees": 1200.0,
        "churn_risk": 0.25,
    }
    assert subscription_attributes(None) == {}


def test_at_most_so_many_per_event_in_name_order() -> None:
    extra = {f"field_{i:03d}": "v" for i in range(3 * MAX_ATTRIBUTES)}
    kept = subscription_attributes(extra)
    assert list(kept) == sorted(extra)[:MAX_ATTRIBUTES]


@given(st.dictionaries(st.text(max_size=70), st.none() | st.booleans() | st.floats() | st.text()))
def test_whatever_a_producer_sends_the_kept_values_are_bounded(extra: dict[str, object]) -> None:
    kept = subscription_attributes(extra)
    assert len(kept) <= MAX_ATTRIBUTES
    for name, value in kept.items():
        assert name in extra and len(name) <= 64
        if isinstance(value, str):
            assert 0 < len(value) <= MAX_TEXT
        else:
            assert math.isfinite(value)


def test_stamped_values_read_back_as_stored_in_json() -> None:
    at = datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    stamped = stamp({"region": "apac", "employees": 40.0}, at)
    assert stamped["region"] == ("apac", 1772368200123456)
    # JSON gives lists back; a malformed entry is left out rather than failing the account
    stored = {"region": ["apac", 1], "employees": [40.0, 1], "bad": "x", "empty": []}
    assert latest_values(stored) == {"region": "apac", "employees": 40.0}
    assert latest_values(None) == {}
