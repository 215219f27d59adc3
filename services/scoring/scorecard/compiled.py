"""A scorecard compiled once into tuples and closures over the closed set of functions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from services.scoring.domain.account_state import NO_NEEDS, AccountState, StateNeeds
from services.scoring.scorecard import templates
from services.scoring.scorecard.checks import RETENTION_DAYS, cross_reference_errors
from services.scoring.scorecard.document import (
    COMPARE,
    Component,
    Condition,
    Reason,
    Scorecard,
)
from services.scoring.scorecard.measures import (
    PointsFn,
    Reader,
    points,
    raw_key,
    raw_reader,
    shared_points,
)
from services.scoring.scorecard.rollup_measures import needs_of
from services.scoring.scorecard.segments import attribute_kinds, compile_condition
from shared.custom_playbooks import CustomPlaybook

Values = Mapping[str, float | None]
Check = Callable[[Values], bool]


@dataclass(frozen=True, slots=True)
class CompiledReason:
    checks: tuple[Check, ...]
    text: tuple[templates.Piece, ...]
    plural: tuple[templates.Piece, ...] | None
    count: str | None

    def render(self, values: Values) -> str:
        count = values.get(self.count) if self.count else None
        # English: one is singular, zero and more plural
        chosen = self.plural if self.plural and count is not None and count != 1 else self.text
        return templates.render(chosen, values)


@dataclass(frozen=True, slots=True)
class CompiledComponent:
    name: str
    mean: bool
    # (measure, weight, points, fixed points when missing or None to renormalize)
    items: tuple[tuple[str, float, PointsFn, float | None], ...]
    present: tuple[Check, ...]
    gates: tuple[tuple[tuple[Check, ...], float, CompiledReason | None], ...]
    blend: tuple[str, float, PointsFn] | None  # measure, 1 - share, share x points
    reasons: tuple[CompiledReason, ...]


@dataclass(frozen=True, slots=True)
class CompiledScorecard:
    version: str
    raws: tuple[Reader, ...]  # distinct raw values (measures may share one)
    measures: tuple[tuple[str, int, float | None], ...]  # name, raw index, per_seat
    segments: tuple[tuple[str, tuple[Callable[[AccountState], bool], ...]], ...]
    default_segment: str
    components: tuple[CompiledComponent, ...]
    weights: Mapping[str, Mapping[str, float]]
    green_min: float
    yellow_min: float
    hysteresis: float
    min_coverage: float
    flags: tuple[tuple[str, tuple[Check, ...], float], ...]
    risk_step: float
    max_reasons: int
    trend_drop: float
    trend_text: tuple[templates.Piece, ...]
    coverage_text: tuple[templates.Piece, ...]
    # what the measures read beyond the default state (the default scorecard: nothing)
    needs: StateNeeds = NO_NEEDS
    playbooks: tuple[CustomPlaybook, ...] = ()  # custom: their zones go with each score

    @property
    def needs_rollups(self) -> bool:
        return self.needs.rollups or self.needs.user_days


def _check(c: Condition) -> Check:
    name = c.measure
    if c.op == "present":
        return lambda values: values[name] is not None
    if c.op == "missing":
        return lambda values: values[name] is None
    compare, threshold = COMPARE[c.op], float(c.value or 0)

    def check(values: Values) -> bool:
        value = values[name]
        return value is not None and compare(value, threshold)

    return check


def _reason(r: Reason) -> CompiledReason:
    plural = tuple(templates.parse(r.plural)[0]) if r.plural else None
    text = tuple(templates.parse(r.text)[0])
    return CompiledReason(tuple(_check(c) for c in r.when), text, plural, r.count)


def _component(
    c: Component, points_of: Mapping[str, PointsFn], card: Scorecard
) -> CompiledComponent:
    missing = {m.name: m.missing for m in card.measures}
    breakpoints = {m.name: m.points for m in card.measures}
    items = tuple(
        (
            item.measure,
            item.weight,
            points_of[item.measure],
            None if missing[item.measure] == "renormalize" else float(missing[item.measure]),
        )
        for item in c.measures
    )
    blend = None
    if c.blend is not None:
        b = c.blend
        blend = (b.measure, 1 - b.share, shared_points(breakpoints[b.measure], b.share))
    return CompiledComponent(
        name=c.name,
        mean=c.mode == "mean",
        items=items,
        present=tuple(_check(p) for p in c.present_when),
        gates=tuple(
            (tuple(_check(w) for w in g.when), g.value, _reason(g.reason) if g.reason else None)
            for g in c.gates
        ),
        blend=blend,
        reasons=tuple(_reason(r) for r in c.reasons),
    )


def canonical_json(card: Scorecard) -> bytes:
    """The document as its digest reads it: sorted keys, and a section that came later
    left out while empty, so a document's digest (and ``model_version``) stays the same
    across the release that added the section."""
    data = card.model_dump(mode="json")
    if not data["attributes"]:
        del data["attributes"]
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def version_of(card: Scorecard) -> str:
    return f"{card.version}+{hashlib.sha256(canonical_json(card)).hexdigest()[:8]}"


def compile_scorecard(card: Scorecard, retention_days: int = RETENTION_DAYS) -> CompiledScorecard:
    """Compile a scorecard once, to evaluate many times.

    Raises ``ValueError`` with every error when the cross-reference checks fail
    (a document built without ``checks.validate`` could divide by zero, name
    a measure that does not exist, or need more days than the rollups keep).
    """
    errors = cross_reference_errors(card, retention_days)
    if errors:
        raise ValueError("invalid scorecard:\n" + "\n".join(errors))
    points_of = {m.name: points(m.points) for m in card.measures}
    unique = {raw_key(m): m for m in reversed(card.measures)}
    keys = list(unique)
    names = [c.name for c in card.components]
    kinds = attribute_kinds(card)
    needs = NO_NEEDS
    for m in unique.values():
        needs |= needs_of(m)
    return CompiledScorecard(
        version=version_of(card),
        raws=tuple(raw_reader(m) for m in unique.values()),
        measures=tuple((m.name, keys.index(raw_key(m)), m.per_seat) for m in card.measures),
        segments=tuple(
            (s.name, tuple(compile_condition(c, kinds) for c in s.when)) for s in card.segments
        ),
        default_segment=card.default_segment,
        components=tuple(_component(c, points_of, card) for c in card.components),
        weights={seg: {n: w[n] for n in names} for seg, w in card.weights.items()},
        green_min=card.bands.green_min,
        yellow_min=card.bands.yellow_min,
        hysteresis=card.bands.hysteresis,
        min_coverage=card.bands.min_coverage,
        flags=tuple((f.name, tuple(_check(c) for c in f.when), f.cap) for f in card.risk.flags),
        risk_step=card.risk.step,
        max_reasons=card.reasons.max,
        trend_drop=card.reasons.trend_drop,
        trend_text=tuple(templates.parse(card.reasons.trend)[0]),
        coverage_text=tuple(templates.parse(card.reasons.low_coverage)[0]),
        needs=needs,
        playbooks=tuple(card.playbooks),
    )
