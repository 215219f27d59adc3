from datetime import UTC, datetime

from services.triggers.clock import prune_cutoff


def test_prune_cutoff_on_29_february_is_a_year_earlier() -> None:
    leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert prune_cutoff(leap_day) == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_prune_cutoff_keeps_a_year_of_scores() -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert prune_cutoff(now) == datetime(2025, 11, 24, 9, 30, tzinfo=UTC)
