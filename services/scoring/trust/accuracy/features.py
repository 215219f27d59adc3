"""Point-in-time features: what the model said ``horizon`` days before an outcome. Pure.

For each outcome, the account's last stored score at or before
``outcome date - horizon`` (score history keeps every published change, so
the last row at or before a time is the score in force then). Nothing stored
after that cut-off can reach a sample.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from services.scoring.trust.accuracy.outcomes import Outcome


@dataclass(frozen=True, slots=True)
class ScorePoint:
    """One stored score of an account (a row of ``score_history``)."""

    account_id: str
    as_of: datetime
    score: float
    band: str
    components: Mapping[str, float | None]
    model_version: str
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    outcome: Outcome
    point: ScorePoint

    @property
    def churned(self) -> bool:
        return self.outcome.churned


def cutoff(outcome: Outcome, horizon_days: int) -> datetime:
    """The last instant whose knowledge may be used: the start of the outcome day less horizon."""
    day_start = datetime.combine(outcome.on, time(0), tzinfo=UTC)
    return day_start - timedelta(days=horizon_days)


def point_in_time(
    outcomes: Iterable[Outcome], history: Iterable[ScorePoint], horizon_days: int
) -> list[Sample]:
    """One sample per outcome whose account had a score by its cut-off."""
    by_account: dict[str, list[ScorePoint]] = defaultdict(list)
    for point in history:
        by_account[point.account_id].append(point)
    for points in by_account.values():
        points.sort(key=lambda p: p.as_of)
    times = {a: [p.as_of for p in points] for a, points in by_account.items()}
    samples: list[Sample] = []
    for outcome in sorted(outcomes, key=lambda o: (o.account_id, o.on, o.kind)):
        known = by_account.get(outcome.account_id)
        if not known:
            continue
        index = bisect_right(times[outcome.account_id], cutoff(outcome, horizon_days))
        if index > 0:
            samples.append(Sample(outcome, known[index - 1]))
    return samples
