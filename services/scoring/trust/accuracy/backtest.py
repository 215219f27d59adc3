"""Backtest: the stored history replayed with a candidate config. Pure.

Besides accuracy on the recorded outcomes (``report``), what the candidate
would have done to the playbooks that follow bands: how many accounts end in
each band, and how many times an account would have entered red (each entry
opens an ``at_risk`` episode).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.trust.accuracy.features import ScorePoint
from services.scoring.trust.accuracy.replay import replay
from services.scoring.trust.accuracy.report import History

BANDS = ("green", "yellow", "red")


@dataclass(frozen=True)
class BandPlaybooks:
    model_version: str
    accounts_by_band: dict[str, int]  # at each account's latest stored score
    red_entries_by_band_before: dict[str, int]  # at_risk episodes, by the band left
    at_risk_episodes: int


def band_playbooks(
    history: History, points: Sequence[ScorePoint], model: HealthModelConfig
) -> BandPlaybooks:
    by_account: dict[str, list[ScorePoint]] = defaultdict(list)
    for point in sorted(points, key=lambda p: (p.account_id, p.as_of)):
        by_account[point.account_id].append(point)
    final: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    for account, series in by_account.items():
        previous = "none"
        for point in series:
            segment = point.segment or history.segments.get(account) or "self_serve"
            band = replay(point, segment, model, history.configs.get(point.model_version)).band
            if band == "red" and previous != "red":
                entries[previous] += 1
            previous = band
        final[previous] += 1
    return BandPlaybooks(
        model.model_version,
        {band: final[band] for band in BANDS},
        dict(entries),
        sum(entries.values()),
    )
