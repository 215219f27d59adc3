"""Validate a scorecard: pydantic's errors and the cross-reference checks, one list.

Every error is ``path: message`` with the path as written in the document, e.g.
``measures[3].points[1]: x must increase``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from services.scoring.scorecard import templates
from services.scoring.scorecard.document import Condition, Measure, Reason, Scorecard
from services.scoring.scorecard.rollup_measures import FILTERS
from services.scoring.scorecard.segments import segment_errors
from shared.custom_playbooks import BUILT_IN_PLAYBOOKS, CustomPlaybook

# a scorecard whose windows need more history than the rollups keep is refused: the
# default of VIGIL_ROLLUP_RETENTION_DAYS (services/scoring/config.py), which callers pass
RETENTION_DAYS = 180
FILTER_FIELDS = ("types", "features", "severities", "kinds")

AGGREGATES_BY_SOURCE = {
    "usage": {
        "count",
        "sum_quantity",
        "distinct_users",
        "distinct_features",
        "days_active",
        "days_since_last",
    },
    "ticket": {"count", "open_tickets", "reopens"},
    "survey": {"count", "latest_survey", "mean_survey_points", "mean_score"},
    "payment": {
        "count",
        "sum_quantity",
        "failed_payments",
        "overdue_invoices",
        "overdue_days",
        "paid_invoices",
        "downgrades",
    },
    "account": {"arr", "seats"},
}
# aggregates over a window ending at as_of; the others read the account's state now
WINDOWED = {
    "count",
    "sum_quantity",
    "distinct_users",
    "distinct_features",
    "days_active",
    "latest_survey",
    "mean_survey_points",
    "mean_score",
    "failed_payments",
    "paid_invoices",
    "downgrades",
}
BASELINED = {"count", "sum_quantity", "days_active"}  # daily buckets: rates compare
BASELINED_SOURCES = ("usage", "ticket", "payment")  # survey responses have no daily buckets


def validate(data: Any, retention_days: int = RETENTION_DAYS) -> tuple[Scorecard | None, list[str]]:
    """The scorecard, or None and every error found (windows longer than
    ``retention_days``, the days the rollups keep, among them)."""
    try:
        card = Scorecard.model_validate(data)
    except ValidationError as error:
        return None, [f"{_path(e['loc'])}: {e['msg']}" for e in error.errors()]
    errors = cross_reference_errors(card, retention_days)
    return (None, errors) if errors else (card, [])


def cross_reference_errors(card: Scorecard, retention_days: int = RETENTION_DAYS) -> list[str]:
    """The checks pydantic cannot make alone: names, references, filters, windows, templates."""
    return list(_cross_references(card, retention_days))


def _union_tag(part: int | str) -> bool:
    """pydantic names the member of a union that failed (``constrained-float``); not a path."""
    return (
        isinstance(part, str)
        and part != "[key]"
        and ("[" in part or part.startswith(("constrained-", "function-")))
    )


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if _union_tag(part):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _duplicates(kind: str, names: list[str]) -> Iterable[str]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield f"{kind}[{i}].name: duplicate name {name!r}"
        seen.add(name)


def _cross_references(card: Scorecard, retention_days: int) -> Iterable[str]:
    measures = {m.name for m in card.measures}
    components = [c.name for c in card.components]
    segments = [s.name for s in card.segments]
    yield from _duplicates("measures", [m.name for m in card.measures])
    yield from _duplicates("components", components)
    yield from _duplicates("segments", segments)
    yield from _duplicates("risk.flags", [f.name for f in card.risk.flags])
    if card.default_segment in segments:
        yield f"default_segment: {card.default_segment!r} is also a listed segment"
    for i, measure in enumerate(card.measures):
        yield from _measure(f"measures[{i}]", measure, retention_days)
    for i, component in enumerate(card.components):
        path = f"components[{i}]"
        for j, item in enumerate(component.measures):
            yield from _known(f"{path}.measures[{j}].measure", item.measure, measures)
        yield from _conditions(f"{path}.present_when", component.present_when, measures)
        for j, gate in enumerate(component.gates):
            yield from _conditions(f"{path}.gates[{j}].when", gate.when, measures)
            if gate.reason is not None:
                yield from _reason(f"{path}.gates[{j}].reason", gate.reason, measures)
        if component.blend is not None:
            yield from _known(f"{path}.blend.measure", component.blend.measure, measures)
        for j, reason in enumerate(component.reasons):
            yield from _reason(f"{path}.reasons[{j}]", reason, measures)
    yield from _weights(card, [*segments, card.default_segment], components)
    if not card.bands.yellow_min < card.bands.green_min:
        yield "bands.yellow_min: must be below green_min"
    yield from segment_errors(card)
    for i, flag in enumerate(card.risk.flags):
        yield from _conditions(f"risk.flags[{i}].when", flag.when, measures)
    for key, names in (("trend", {"trend"}), ("low_coverage", {"coverage"})):
        yield from _template(f"reasons.{key}", getattr(card.reasons, key), names)
    yield from _playbooks(card, measures, set(components), {*segments, card.default_segment})


def _playbooks(
    card: Scorecard, measures: set[str], components: set[str], segments: set[str]
) -> Iterable[str]:
    yield from _duplicates("playbooks", [p.name for p in card.playbooks])
    for i, playbook in enumerate(card.playbooks):
        yield from _playbook(f"playbooks[{i}]", playbook, measures, components, segments)


def _playbook(
    path: str,
    playbook: CustomPlaybook,
    measures: set[str],
    components: set[str],
    segments: set[str],
) -> Iterable[str]:
    if playbook.name in BUILT_IN_PLAYBOOKS:
        yield f"{path}.name: {playbook.name!r} is a built-in playbook"
    when = playbook.when
    if when.signal == "measure" and when.name not in measures:
        yield f"{path}.when.name: unknown measure {when.name!r}"
    if when.signal == "component" and when.name not in components:
        yield f"{path}.when.name: unknown component {when.name!r}"
    for j, segment in enumerate(playbook.segments):
        if segment not in segments:
            yield f"{path}.segments[{j}]: unknown segment {segment!r}"


def _measure(path: str, m: Measure, retention_days: int) -> Iterable[str]:
    if m.aggregate not in AGGREGATES_BY_SOURCE[m.source]:
        allowed = ", ".join(sorted(AGGREGATES_BY_SOURCE[m.source]))
        yield f"{path}.aggregate: {m.aggregate!r} does not apply to {m.source} (one of: {allowed})"
    else:
        yield from _filters(path, m)
    if m.aggregate in WINDOWED and m.window_days is None:
        yield f"{path}.window_days: required for {m.aggregate}"
    if m.aggregate not in WINDOWED and m.window_days is not None:
        yield f"{path}.window_days: {m.aggregate} reads the account now and takes no window"
    if m.baseline_days is not None and (
        m.aggregate not in BASELINED or m.source not in BASELINED_SOURCES
    ):
        yield (
            f"{path}.baseline_days: only for {', '.join(sorted(BASELINED))}"
            f" of {', '.join(BASELINED_SOURCES)} events"
        )
    span = (m.window_days or 0) + (m.baseline_days or 0)
    if span > retention_days:
        field = "baseline_days" if m.baseline_days else "window_days"
        yield (
            f"{path}.{field}: needs {span} days of history (window and baseline), over the"
            f" {retention_days} days the rollups keep (VIGIL_ROLLUP_RETENTION_DAYS)"
        )
    if m.severity_weights is not None and m.aggregate != "open_tickets":
        yield f"{path}.severity_weights: only for open_tickets"
    for i, (a, b) in enumerate(zip(m.points or [], (m.points or [])[1:], strict=False)):
        if not a.x < b.x:
            yield f"{path}.points[{i + 1}]: x must increase"


def _filters(path: str, m: Measure) -> Iterable[str]:
    """A filter the measure's data has no such field for would silently match everything."""
    takes = FILTERS.get((m.source, m.aggregate), frozenset())
    for name in FILTER_FIELDS:
        if getattr(m, name) and name not in takes:
            allowed = ", ".join(f for f in FILTER_FIELDS if f in takes) or "no filter"
            yield f"{path}.{name}: {m.source} {m.aggregate} does not filter by {name} ({allowed})"


def _known(path: str, name: str, known: set[str]) -> Iterable[str]:
    if name not in known:
        yield f"{path}: unknown measure {name!r}"


def _conditions(path: str, conditions: list[Condition], measures: set[str]) -> Iterable[str]:
    for i, condition in enumerate(conditions):
        yield from _known(f"{path}[{i}].measure", condition.measure, measures)
        needs_value = condition.op not in ("present", "missing")
        if needs_value != (condition.value is not None):
            wrong = "required" if needs_value else "not taken"
            yield f"{path}[{i}].value: {wrong} by {condition.op}"


def _reason(path: str, reason: Reason, measures: set[str]) -> Iterable[str]:
    yield from _conditions(f"{path}.when", reason.when, measures)
    yield from _template(f"{path}.text", reason.text, measures)
    if reason.plural is not None:
        yield from _template(f"{path}.plural", reason.plural, measures)
    if (reason.plural is None) != (reason.count is None):
        yield f"{path}.count: plural and count go together"
    if reason.count is not None:
        yield from _known(f"{path}.count", reason.count, measures)


def _template(path: str, text: str, known: set[str]) -> Iterable[str]:
    pieces, error = templates.parse(text)
    if error:
        yield f"{path}: {error}"
    for name in templates.names(pieces):
        if name not in known:
            yield f"{path}: unknown placeholder {{{name}}}"


def _weights(card: Scorecard, segments: list[str], components: list[str]) -> Iterable[str]:
    for segment in card.weights:
        if segment not in segments:
            yield f"weights.{segment}: unknown segment"
    for segment in segments:
        weights = card.weights.get(segment)
        if weights is None:
            yield f"weights.{segment}: missing (every segment needs weights)"
            continue
        for name in weights:
            if name not in components:
                yield f"weights.{segment}.{name}: unknown component"
        for name in components:
            if name not in weights:
                yield f"weights.{segment}.{name}: missing"
        if sum(weights.values()) <= 0:
            yield f"weights.{segment}: at least one weight must be positive"
