"""The cyclic garbage collector, set for services that hold a batch of objects for a second.

With CPython's defaults (a young collection every 700 net allocations) a batch's
records, signals and rows outlive two young collections while the batch is in
flight, reach the oldest generation and make it due over and over: measured on
scoring under steady load, 39 full collections in 90 s took 10 of its 34
CPU-seconds. Almost everything a batch allocates is freed by reference counting
anyway; the collector is only for cycles, which are rare here. So: young
collections 140 times less often, and what exists once the service is wired
(modules, classes, functions: ~200k objects) frozen out of every collection.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000  # net container allocations between young collections (default 700)
MIDDLE_THRESHOLD = 20  # young collections per middle one (default 10)
OLD_THRESHOLD = 100  # middle collections per full one, at most (default 10)


def tune_for_batches() -> None:
    """Set the thresholds and freeze what is alive now; call once the process is set up."""
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    gc.freeze()
