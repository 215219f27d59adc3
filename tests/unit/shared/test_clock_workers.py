from shared.clock.workers import ranges


def test_ranges_cover_every_id_once_in_order() -> None:
    assert ranges(["b", "d"]) == [(None, "b"), ("b", "d"), ("d", None)]


def test_repeated_or_unsorted_bounds_give_no_empty_range() -> None:
    assert ranges(["d", "b", "d"]) == [(None, "b"), ("b", "d"), ("d", None)]


def test_no_bounds_is_one_range_of_everything() -> None:
    assert ranges([]) == [(None, None)]
