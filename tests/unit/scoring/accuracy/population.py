"""A synthetic population whose churn is driven by known components (test helper)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from services.scoring.domain.model import plain_band
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.trust.accuracy.features import ScorePoint
from services.scoring.trust.accuracy.outcomes import Outcome
from services.scoring.trust.accuracy.replay import weighted
from services.scoring.trust.accuracy.report import History

OUTCOME_DAY = date(2026, 6, 30)
# effect of each component on churn (log-odds per 100 points); sentiment is pure noise
EFFECTS = {"usage": -6.0, "adoption": -1.5, "support": -0.8, "payment": -3.0, "sentiment": 0.0}


def population(n: int, seed: int = 5, segment: str = "smb") -> History:
    rng = random.Random(seed)
    config = HealthModelConfig()
    outcomes, points = [], []
    for i in range(n):
        account = f"a{i:05d}"
        components = {name: round(rng.uniform(0, 100), 1) for name in EFFECTS}
        logit = 3.2 + sum(EFFECTS[k] * v / 100 for k, v in components.items())
        churned = rng.random() < 1 / (1 + math.exp(-logit))
        score, _ = weighted(components, config.weights[segment].as_dict())
        score = round(score, 1)
        at = datetime(2026, 5, 1, tzinfo=UTC) - timedelta(days=rng.randint(0, 20))
        points.append(
            ScorePoint(
                account,
                at,
                score,
                plain_band(score, config),
                components,
                config.model_version,
                segment,
            )
        )
        outcomes.append(Outcome(account, "churn" if churned else "renewal", OUTCOME_DAY, "api"))
    return History(outcomes, points, {}, {config.model_version: config})
