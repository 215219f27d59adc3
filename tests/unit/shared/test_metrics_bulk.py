"""``observe_many`` against per-value ``observe``: the same exposition."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from shared.metrics import END_TO_END_BUCKETS_S, observe_many

# bounds themselves, both sides of them, zero and far beyond the last bound
VALUES = st.one_of(
    st.sampled_from([0.0, *END_TO_END_BUCKETS_S]),
    st.floats(min_value=0.0, max_value=10_000.0, allow_nan=False),
)


def _histogram() -> Histogram:
    return Histogram(
        "lag_seconds", "lag", buckets=END_TO_END_BUCKETS_S, registry=CollectorRegistry()
    )


def _pair() -> tuple[Histogram, Histogram]:
    return _histogram(), _histogram()


def _samples(histogram: Histogram) -> dict[str, float]:
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


@given(st.lists(st.lists(VALUES, max_size=50), max_size=5))
def test_buckets_count_and_sum_equal_per_value_observe(batches: list[list[float]]) -> None:
    one_by_one, bulk = _pair()
    for batch in batches:
        for value in batch:
            one_by_one.observe(value)
        observe_many(bulk, batch)
    expected, got = _samples(one_by_one), _samples(bulk)
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        if name.startswith("lag_seconds_sum"):
            assert math.isclose(got[name], value, rel_tol=1e-9, abs_tol=1e-9)
        else:
            assert got[name] == value, name


def test_a_value_on_a_bound_counts_in_that_bucket() -> None:
    one_by_one, bulk = _pair()
    one_by_one.observe(0.5)
    observe_many(bulk, [0.5])
    assert _samples(bulk) == _samples(one_by_one)
    assert _samples(bulk)["lag_seconds_bucket[('le', '0.5')]"] == 1.0
    assert _samples(bulk)["lag_seconds_bucket[('le', '0.25')]"] == 0.0
