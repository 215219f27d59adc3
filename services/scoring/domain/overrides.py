"""Overrides: what a person who knows better says about an account's health. Pure.

The model stays pure: :func:`apply_overrides` runs after ``score(...)`` on its result
and returns the health to publish; the model's own score is kept beside it (history,
calibration and trends read the model's, never the overridden one).

An override pins the band, or moves the score, or moves one component (and the score
by that component's share of the weights that have data). It is active from its
creation until it expires or is removed; several apply in the order they were made,
and a pinned band wins over the band an adjusted score would get. Each active
override leads the reasons: ``override: <what> by <who> until <when>: <reason>``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from services.scoring.domain.model import Health, band_for
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.compiled import CompiledScorecard
from services.scoring.scorecard.evaluate import band_after

OverrideKind = Literal["pin_band", "adjust_score", "adjust_component"]
OVERRIDE_NAMESPACE = uuid.UUID("3b8e6f0a-91c4-4d7e-b2a5-6c0f1e9d8a47")


@dataclass(frozen=True, slots=True)
class Override:
    override_id: str
    account_id: str
    kind: OverrideKind
    band: str | None
    delta: float | None
    component: str | None
    reason: str
    expires_at: datetime
    created_at: datetime
    created_by: str

    def active_at(self, now: datetime) -> bool:
        return self.created_at <= now < self.expires_at

    def what(self) -> str:
        """What it does, in a few words (``band pinned to red``, ``score +10``)."""
        if self.kind == "pin_band":
            return f"band pinned to {self.band}"
        target = "score" if self.kind == "adjust_score" else f"{self.component} component"
        return f"{target} {self.delta or 0:+g}"

    def sentence(self) -> str:
        until = self.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return f"override: {self.what()} by {self.created_by} until {until}: {self.reason}"


def apply_overrides(
    health: Health, overrides: Sequence[Override], cfg: HealthModelConfig | CompiledScorecard
) -> Health:
    """The health to publish: ``health`` (the model's, or the live scorecard's whose
    weights and bands ``cfg`` holds) with ``overrides`` applied."""
    if not overrides:
        return health
    ordered = sorted(overrides, key=lambda o: (o.created_at, o.override_id))
    value, components = health.score, dict(health.components)
    if isinstance(cfg, CompiledScorecard):
        weights = dict(cfg.weights.get(health.segment, {}))
    else:
        weights = cfg.weights[health.segment].as_dict()
    for override in ordered:
        if override.kind == "adjust_score":
            value = _clamp(value + (override.delta or 0))
        elif override.kind == "adjust_component" and override.component is not None:
            value = _adjust_component(value, components, weights, override)
    value = round(value, 1)
    if value == health.score:
        band = health.band
    elif isinstance(cfg, CompiledScorecard):
        band = band_after(cfg, value, health.band)
    else:
        band = band_for(value, health.band, cfg)
    pinned = [o.band for o in ordered if o.kind == "pin_band" and o.band is not None]
    if pinned:
        band = pinned[-1]
    reasons = [o.sentence() for o in reversed(ordered)] + health.reasons
    return replace(health, score=value, band=band, components=components, reasons=reasons)


def _adjust_component(
    value: float,
    components: dict[str, float | None],
    weights: dict[str, float],
    override: Override,
) -> float:
    """Move the component and the score by the component's share of the covered weight
    (a component without data stays without: there is nothing to move)."""
    name = override.component or ""
    before = components.get(name)
    if before is None:
        return value
    after = round(_clamp(before + (override.delta or 0)), 1)
    components[name] = after
    covered = sum(w for n, w in weights.items() if components.get(n) is not None)
    share = weights.get(name, 0.0) / covered if covered > 0 else 0.0
    return _clamp(value + (after - before) * share)


def _clamp(value: float) -> float:
    return min(100.0, max(0.0, value))


def override_ids(overrides: Sequence[Override]) -> list[str]:
    return sorted(o.override_id for o in overrides)


def override_change_id(event_id: str, applied: Sequence[str], revision: int) -> str:
    """A change that an override made (or ended) gets its own id: the same score and band
    at the same time as an earlier change is still news when an override made it so."""
    key = f"{event_id}|overrides|{','.join(applied)}|{revision}"
    return str(uuid.uuid5(OVERRIDE_NAMESPACE, key))


def override_summary(override: Override) -> dict[str, object]:
    """How an applied override travels with a health change (``HealthChange.overrides``)."""
    return {
        "override_id": override.override_id,
        "kind": override.kind,
        "band": override.band,
        "delta": override.delta,
        "component": override.component,
        "reason": override.reason,
        "expires_at": override.expires_at,
        "created_at": override.created_at,
        "created_by": override.created_by,
    }
