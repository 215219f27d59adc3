"""The soak's verdict: first-quarter against last-quarter medians."""

import math

import pytest

from tests.support.soak_trend import trend


def test_flat_samples_pass():
    t = trend("rss", [100, 102, 99, 101, 100, 103, 100, 101], 0.15)
    assert t.ok
    assert t.first == pytest.approx(101)  # median of 100, 102
    assert t.last == pytest.approx(100.5)


def test_steady_growth_fails():
    t = trend("rss", [100, 110, 120, 130, 140, 150, 160, 170], 0.15)
    assert not t.ok
    assert t.growth == pytest.approx(165 / 105 - 1)
    assert "GREW" in t.describe()


def test_growth_within_the_tolerance_passes_and_over_it_fails():
    assert trend("t", [10, 10, 11.4, 11.4], 0.15).ok
    assert not trend("t", [10, 10, 11.6, 11.6], 0.15).ok


def test_one_spike_in_a_quarter_does_not_decide_it():
    # quarters of four samples: a single burst from a neighbour is outvoted
    values = [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 400, 50, 50]
    assert trend("ms", values, 0.15).ok


def test_shrinking_passes():
    assert trend("ms", [20, 18, 15, 12], 0.15).ok


def test_samples_without_an_observation_are_left_out():
    t = trend("ms", [math.nan, 10, 10, 10, 10, math.nan], 0.15)
    assert t.first == 10 and t.last == 10 and t.ok


def test_no_observation_at_all_is_not_a_pass():
    t = trend("ms", [math.nan, math.nan], 0.15)
    assert not t.ok
    assert math.isnan(t.growth)


def test_a_single_sample_compares_with_itself():
    assert trend("rss", [80], 0.15).growth == 0
