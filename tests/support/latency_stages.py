"""Row 6's latency split at the signal (pure; ``bench/latency.py`` reads the records).

A health change's ``as_of`` is the time of the event that moved it, so the change
finds its signal by (account, event time): event -> signal is ingest's part (up to
its send; the signal is readable once ingest's transaction commits), signal ->
change is scoring's (that commit, the batch, the relay's send).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

# (account id, event time, when its record was stamped: epoch seconds)
Stamped = tuple[str, datetime, float]


def split_at_signal(
    signals: Iterable[Stamped], changes: Iterable[Stamped], since: datetime, until: datetime
) -> tuple[list[float], list[float]]:
    """Per change of an event in [since, until): (event -> signal, signal -> change) seconds.
    A change with no signal of its time (the clock's, a watermark's) is left out."""
    sent = {(account, at): stamped for account, at, stamped in signals}
    to_signal: list[float] = []
    to_change: list[float] = []
    for account, as_of, published in changes:
        signal_at = sent.get((account, as_of))
        if signal_at is None or not since <= as_of < until:
            continue
        to_signal.append(signal_at - as_of.timestamp())
        to_change.append(published - signal_at)
    return to_signal, to_change
