"""``evaluate(compiled, state, as_of) -> Health``: a scorecard applied to one account. Pure.

The same shape as ``model.score``: the weighted mean of the components with data
(renormalized; ``coverage`` is the weight that had data), capped by risk flags,
banded with hysteresis against the band a day earlier, explained by ranked reasons.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.components import UsageFacts, usage_facts
from services.scoring.domain.model import Health, hysteresis_band
from services.scoring.scorecard import templates
from services.scoring.scorecard.compiled import (
    Check,
    CompiledComponent,
    CompiledScorecard,
    Values,
)
from services.scoring.scorecard.measures import Context, per_seat
from shared.custom_playbooks import PlaybookCondition, zone

DAY = timedelta(days=1)
Finding = tuple[float, str | None]


def measure_values(card: CompiledScorecard, state: AccountState, as_of: datetime) -> Values:
    context = Context(state, as_of)
    raws = [read(context) for read in card.raws]
    seats = state.seats
    return {name: per_seat(raws[i], seats, share) for name, i, share in card.measures}


def segment_of(card: CompiledScorecard, state: AccountState) -> str:
    for name, checks in card.segments:
        if all(check(state) for check in checks):
            return name
    return card.default_segment


def _all(checks: tuple[Check, ...], values: Values) -> bool:
    return all(check(values) for check in checks)


def component(c: CompiledComponent, values: Values) -> Finding | None:
    """The component's value and problem sentence, or None without data."""
    if c.present:
        for check in c.present:
            if check(values):
                break
        else:
            return None
    for checks, value, reason in c.gates:
        if _all(checks, values):
            return value, reason.render(values) if reason else None
    total = covered = 0.0
    for name, weight, to_points, fixed in c.items:
        raw = values[name]
        got = fixed if raw is None else to_points(raw)
        if got is not None:
            total += weight * got
            covered += weight
    if c.mean:
        if covered <= 0:
            return None
        value = total / covered
    else:
        if not c.present and covered <= 0:
            return None
        value = 100 - total
    value = min(100.0, max(0.0, value))  # before the blend too: a blend mixes points
    if c.blend is not None:
        name, keep, shared = c.blend
        mixed = values[name]
        if mixed is not None:
            value = min(100.0, max(0.0, keep * value + shared(mixed)))
    for reason in c.reasons:
        if _all(reason.checks, values):
            return value, reason.render(values)
    return value, None


def _weighted(
    card: CompiledScorecard, state: AccountState, values: Values
) -> tuple[float, str, dict[str, float | None], float, dict[str, Finding]]:
    segment = segment_of(card, state)
    weights = card.weights[segment]
    components: dict[str, float | None] = {}
    findings: dict[str, Finding] = {}
    for c in card.components:
        finding = component(c, values)
        components[c.name] = None if finding is None else round(finding[0], 1)
        if finding is not None:
            findings[c.name] = finding
    covered = sum(weights[name] for name in findings)
    total = sum(weights.values())
    if covered <= 0:
        return 50.0, segment, components, 0.0, findings
    value = sum(weights[name] * findings[name][0] for name in findings) / covered
    return round(min(100.0, max(0.0, value)), 1), segment, components, covered / total, findings


def risk_cap(card: CompiledScorecard, values: Values) -> float:
    caps = sorted(cap for _name, checks, cap in card.flags if all(c(values) for c in checks))
    if not caps:
        return 100.0
    return max(0.0, caps[0] - card.risk_step * (len(caps) - 1))


def band_after(card: CompiledScorecard, score: float, previous: str | None) -> str:
    return hysteresis_band(score, previous, card.green_min, card.yellow_min, card.hysteresis)


def _reference_band(
    card: CompiledScorecard, state: AccountState, as_of: datetime, value: float
) -> str | None:
    near = any(abs(value - t) <= card.hysteresis for t in (card.green_min, card.yellow_min))
    if not near:
        return None
    values = measure_values(card, state, as_of - DAY)
    earlier, *_ = _weighted(card, state, values)
    return band_after(card, min(earlier, risk_cap(card, values)), None)


def evaluate(
    card: CompiledScorecard, state: AccountState, as_of: datetime, values: Values | None = None
) -> Health:
    """``values``: the measures' values at ``as_of``, when the caller has them already."""
    if values is None:
        values = measure_values(card, state, as_of)
    value, segment, components, coverage, findings = _weighted(card, state, values)
    value = round(float(min(value, risk_cap(card, values))), 1)
    low_coverage = coverage < card.min_coverage
    band = band_after(card, value, _reference_band(card, state, as_of, value))
    if low_coverage and band == "green":
        band = "yellow"  # too little fresh data to call an account healthy
    trend = _trend(state, as_of, value)
    usage = usage_facts(state, as_of)
    return Health(
        score=value,
        band=band,
        segment=segment,
        components=components,
        coverage=round(coverage, 3),
        reasons=_reasons(card, findings, card.weights[segment], trend, coverage, low_coverage),
        trend_7d=trend,
        low_coverage=low_coverage,
        model_version=card.version,
        usage=usage,
        playbook_signals=tuple(
            zone(p.when, _read(p.when, values, components, value, band, state.seats, usage))
            for p in card.playbooks
        ),
    )


def _read(
    when: PlaybookCondition,
    values: Values,
    components: dict[str, float | None],
    score: float,
    band: str,
    seats: int | None,
    usage: UsageFacts,
) -> float | str | None:
    """The value a custom playbook's condition reads, as triggers will read it."""
    name = when.name or ""
    match when.signal:
        case "score":
            return score
        case "band":
            return band
        case "measure":
            return values.get(name)
        case "component":
            return components.get(name)
    facts: dict[str, float | None] = {
        "seats": seats,
        "active_users_7d": usage.active_users_7d,
        "active_users_30d": usage.active_users_30d,
        "usage_ratio_to_baseline": usage.ratio_to_baseline,
        "usage_ratio_14d_to_baseline": usage.ratio_14d_to_baseline,
    }
    return facts.get(name)


def _trend(state: AccountState, as_of: datetime, value: float) -> float | None:
    week_ago = as_of - 7 * DAY
    before = [s for at, s in sorted(state.score_history) if at <= week_ago]
    return round(value - before[-1], 1) if before else None


def _reasons(
    card: CompiledScorecard,
    findings: dict[str, Finding],
    weights: dict[str, float] | Values,
    trend: float | None,
    coverage: float,
    low_coverage: bool,
) -> list[str]:
    """Most impact first: impact = the component's share of weight x points missing."""
    total = sum(weights[name] or 0.0 for name in findings) or 1.0
    ranked = [
        ((weights[name] or 0.0) / total * (100 - value), problem)
        for name, (value, problem) in findings.items()
        if problem is not None
    ]
    if trend is not None and trend <= -card.trend_drop:
        ranked.append((-trend, templates.render(card.trend_text, {"trend": trend})))
    if low_coverage:
        ranked.append((0.0, templates.render(card.coverage_text, {"coverage": coverage})))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [sentence for _impact, sentence in ranked[: card.max_reasons]]
