"""The collector setting services run with (``shared.service.gc_tuning``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.service.gc_tuning import YOUNG_THRESHOLD, tune_for_batches


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_wired_objects_are_frozen_and_young_collections_rarer() -> None:
    tune_for_batches()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD > 700
    assert gc.get_freeze_count() > 10_000  # at least the modules imported so far


@pytest.mark.usefixtures("restored_collector")
def test_cycles_are_still_collected() -> None:
    tune_for_batches()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2  # the collector still runs: only less often
