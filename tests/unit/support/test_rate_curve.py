"""The search for the rate where p99 latency passes the limit, and its estimate."""

import math

import pytest

from tests.support.rate_curve import Point, bracket, crossing, next_rate

LIMIT = 1.0


def curve(*pairs: tuple[float, float]) -> list[Point]:
    return [Point(rate, p99) for rate, p99 in pairs]


def test_bracket_is_the_highest_rate_under_and_the_next_over():
    points = curve((250, 0.4), (500, 0.9), (1000, 1.6), (2000, 4.0))
    assert bracket(points, LIMIT).under == Point(500, 0.9)
    assert bracket(points, LIMIT).over == Point(1000, 1.6)


def test_noise_below_the_highest_rate_under_the_limit_does_not_move_the_bracket():
    # 500/s measured over the limit once, 1000/s under: the question is "up to which rate"
    points = curve((250, 0.4), (500, 1.2), (1000, 0.95), (2000, 3.0))
    assert bracket(points, LIMIT) == bracket(curve((1000, 0.95), (2000, 3.0)), LIMIT)


def test_all_under_the_limit_doubles_the_highest_rate():
    assert next_rate(curve((250, 0.2), (4000, 0.8)), LIMIT) == 8000


def test_all_over_the_limit_halves_the_lowest_rate_down_to_a_floor():
    assert next_rate(curve((250, 1.5), (500, 3.0)), LIMIT) == 125
    assert next_rate(curve((40, 1.5)), LIMIT, lowest=25) is None


def test_a_wide_bracket_is_bisected_on_a_log_scale():
    assert next_rate(curve((250, 0.5), (1000, 2.0)), LIMIT) == pytest.approx(500)


def test_a_narrow_bracket_ends_the_search():
    assert next_rate(curve((500, 0.9), (560, 1.1)), LIMIT, narrow=1.15) is None


def test_nothing_measured_or_nothing_usable_ends_the_search():
    assert next_rate([], LIMIT) is None
    assert next_rate(curve((500, math.nan)), LIMIT) is None


def test_the_crossing_is_interpolated_against_log_rate():
    # p99 0.5 s at 250/s, 1.5 s at 1000/s: the limit is half way, at the geometric mean
    assert crossing(curve((250, 0.5), (1000, 1.5)), LIMIT) == pytest.approx(500)
    low = crossing(curve((250, 0.9), (1000, 1.9)), LIMIT)
    assert low is not None and 250 < low < 300


def test_no_crossing_without_a_bracket():
    assert crossing(curve((250, 0.2), (500, 0.4)), LIMIT) is None
    assert crossing(curve((250, 1.2), (500, 1.4)), LIMIT) is None


def test_a_point_exactly_at_the_limit_is_over_it():
    assert crossing(curve((250, 0.5), (500, 1.0)), LIMIT) == pytest.approx(500)
