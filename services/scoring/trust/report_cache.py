"""What keeps accuracy reports from starving the consumers: the stored model versions parsed
once (a bad one skipped and remembered), and reports computed once per state of the history.

A report loads the outcomes and the score history before them and replays every
stored score: seconds of CPU on a large history. ``ReportCache`` computes at most
``concurrency`` reports at a time (threads share the GIL with the event loop the
consumers run on), runs one computation for identical requests arriving together,
and keeps the last ``size`` results keyed by what they depend on: the model
versions, the horizons and a fingerprint of the history (``history_mark``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.scoring.domain.config_check import check_health_config
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.metrics import ScoringMetrics
from services.scoring.scorecard.candidate import is_scorecard
from shared.logging import get_logger
from shared.report_cache import ReportCache

__all__ = ["ReportCache", "StoredVersions"]
log = get_logger(__name__)


class StoredVersions:
    """Stored model configs (live versions and shadow candidates) parsed once each; one that
    does not validate is skipped with an error logged and counted once, then remembered."""

    def __init__(self, metrics: ScoringMetrics | None = None, *, where: str = "accuracy") -> None:
        self._metrics = metrics
        self._where = where  # the label of vigil_shadow_errors_total
        self._parsed: dict[int, HealthModelConfig] = {}
        self._bad: set[int] = set()

    def parse(self, rows: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, HealthModelConfig]:
        """``model_version`` -> config, for the rows (version, config) that validate."""
        configs: dict[str, HealthModelConfig] = {}
        for version, data in rows:
            if is_scorecard(data):
                continue  # a scorecard shadow: not a model config, and not an invalid one
            config = self.config(version, data)
            if config is not None:
                configs[config.model_version] = config
        return configs

    def config(self, version: int, data: dict[str, Any]) -> HealthModelConfig | None:
        """The config of stored ``version`` (a shadow row: minus its id), None if invalid."""
        if version in self._bad:
            return None
        known = self._parsed.get(version)
        if known is not None:
            return known
        try:
            config = HealthModelConfig.model_validate(data)
            check_health_config(config)
        except Exception as error:  # noqa: BLE001 - whatever a stored row holds, skip it
            self._bad.add(version)
            if self._metrics is not None:
                self._metrics.shadow_errors.labels(self._where).inc()
            log.error(
                "stored model config is invalid; skipped",
                version=version,
                used_by=self._where,
                error=str(error)[:500],
            )
            return None
        self._parsed[version] = config
        return config
