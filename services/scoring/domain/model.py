"""The health model: ``score(state, as_of, config) -> Health``. Pure, no I/O.

The score is the weighted mean of the components that have fresh data
(weights renormalize over them; ``coverage`` says how much weight that was),
banded green/yellow/red with hysteresis, explained by ranked reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.components import COMPONENT_FUNCTIONS, UsageFacts, usage, usage_facts
from services.scoring.domain.model_config import HealthModelConfig

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Health:
    score: float
    band: str
    segment: str
    components: dict[str, float | None]
    coverage: float
    reasons: list[str]
    trend_7d: float | None
    low_coverage: bool
    model_version: str
    usage: UsageFacts
    # per custom playbook, where its value stands (shared.custom_playbooks.zone)
    playbook_signals: tuple[int | None, ...] = ()


def segment_for(arr: Decimal | float | None, cfg: HealthModelConfig) -> str:
    value = float(arr or 0)
    if value >= cfg.enterprise_min_arr:
        return "enterprise"
    if value >= cfg.mid_market_min_arr:
        return "mid_market"
    if value >= cfg.smb_min_arr:
        return "smb"
    return "self_serve"


def plain_band(score: float, cfg: HealthModelConfig) -> str:
    return "green" if score >= cfg.green_min else "yellow" if score >= cfg.yellow_min else "red"


def band_for(score: float, previous: str | None, cfg: HealthModelConfig) -> str:
    return hysteresis_band(score, previous, cfg.green_min, cfg.yellow_min, cfg.hysteresis)


def hysteresis_band(
    score: float, previous: str | None, green: float, yellow: float, margin: float
) -> str:
    """Leaving a band takes crossing its threshold by ``margin`` points."""
    if previous == "green":
        green -= margin
    elif previous == "red":
        yellow += margin
    elif previous == "yellow":
        green, yellow = green + margin, yellow - margin
    return "green" if score >= green else "yellow" if score >= yellow else "red"


def score(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> Health:
    facts = usage_facts(state, as_of)
    value, segment, components, coverage, findings = _weighted(state, as_of, cfg, facts)
    value = round(float(min(value, risk_cap(state, as_of, cfg))), 1)
    low_coverage = coverage < cfg.min_coverage
    band = band_for(value, _reference_band(state, as_of, value, cfg), cfg)
    if low_coverage and band == "green":
        band = "yellow"  # too little fresh data to call an account healthy
    trend = _trend(state, as_of, value)
    return Health(
        score=value,
        band=band,
        segment=segment,
        components=components,
        coverage=round(coverage, 3),
        reasons=_reasons(
            findings, cfg.weights[segment].as_dict(), trend, coverage, low_coverage, cfg
        ),
        trend_7d=trend,
        low_coverage=low_coverage,
        model_version=cfg.model_version,
        usage=facts,
    )


def _weighted(
    state: AccountState, as_of: datetime, cfg: HealthModelConfig, facts: UsageFacts | None = None
) -> tuple[float, str, dict[str, float | None], float, dict[str, tuple[float, str | None]]]:
    segment = segment_for(state.arr, cfg)
    weights = cfg.weights[segment].as_dict()
    components: dict[str, float | None] = {}
    findings: dict[str, tuple[float, str | None]] = {}
    for name, component in COMPONENT_FUNCTIONS.items():
        finding = (
            usage(state, as_of, cfg, facts) if name == "usage" else component(state, as_of, cfg)
        )
        components[name] = None if finding.value is None else round(finding.value, 1)
        if finding.value is not None:
            findings[name] = (finding.value, finding.problem)
    covered = sum(weights[name] for name in findings)
    total = sum(weights.values())
    if covered <= 0:
        return 50.0, segment, components, 0.0, findings  # nothing known: neutral, flagged
    value = sum(weights[name] * findings[name][0] for name in findings) / covered
    return round(min(100.0, max(0.0, value)), 1), segment, components, covered / total, findings


def _reference_band(
    state: AccountState, as_of: datetime, value: float, cfg: HealthModelConfig
) -> str | None:
    """The band a day earlier, from the same state: hysteresis without path dependence.

    Only needed near a threshold; elsewhere every reference band gives the same result.
    """
    near = any(abs(value - t) <= cfg.hysteresis for t in (cfg.green_min, cfg.yellow_min))
    if not near:
        return None
    earlier, *_ = _weighted(state, as_of - DAY, cfg)
    return plain_band(min(earlier, risk_cap(state, as_of - DAY, cfg)), cfg)


def risk_flags(state: AccountState, as_of: datetime) -> list[str]:
    urgent = sum(1 for t in state.open_tickets if t.severity == "urgent" and t.opened_at <= as_of)
    flags = ["urgent_tickets" if urgent >= 2 else "urgent_ticket"] if urgent else []
    if any(as_of - 30 * DAY < t <= as_of for t in state.payment_failures):
        flags.append("payment_failed_30d")
    if any(i.overdue_since <= as_of for i in state.overdue_invoices):
        flags.append("invoice_overdue")
    seen = [t for t in state.user_last_seen.values() if t <= as_of]
    if seen and as_of - max(seen) >= 14 * DAY:
        flags.append("usage_stopped_14d")
    return flags


def risk_cap(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> float:
    """The highest score the account's risk flags allow (100 without flags)."""
    caps = sorted(cfg.risk_caps.get(flag, 100.0) for flag in risk_flags(state, as_of))
    if not caps:
        return 100.0
    return max(0.0, caps[0] - cfg.risk_flag_step * (len(caps) - 1))


def _trend(state: AccountState, as_of: datetime, value: float) -> float | None:
    week_ago = as_of - 7 * DAY
    before = [s for at, s in sorted(state.score_history) if at <= week_ago]
    if not before:
        return None
    return round(value - before[-1], 1)


def _reasons(
    findings: dict[str, tuple[float, str | None]],
    weights: dict[str, float],
    trend: float | None,
    coverage: float,
    low_coverage: bool,
    cfg: HealthModelConfig,
) -> list[str]:
    """Short sentences, most impact first: impact = weight x points missing."""
    total = sum(weights[name] for name in findings) or 1.0
    ranked = [
        (weights[name] / total * (100 - value), problem)
        for name, (value, problem) in findings.items()
        if problem is not None
    ]
    if trend is not None and trend <= -10:
        ranked.append((-trend, f"Score down {abs(trend):.0f} points in 7 days"))
    if low_coverage:
        ranked.append((0.0, f"Low data coverage ({coverage:.0%} of the model has fresh data)"))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [sentence for _impact, sentence in ranked[: cfg.max_reasons]]
