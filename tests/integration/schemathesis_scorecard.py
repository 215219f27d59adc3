"""A generated scorecard made consistent, for schemathesis (``schemathesis_hooks.py``).

JSON Schema says a scorecard's shapes, not its references: that a name is unique,
that a condition names a measure that exists, that every segment has a weight for
every component, that an aggregate reads the source it belongs to. As with the
orders between config fields, a generated positive body is brought within what the
document's checks (``services.scoring.scorecard.checks``) require, each rule read
from them, changing only what breaks one; a body they still refuse fails the run.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from services.scoring.scorecard import templates
from services.scoring.scorecard.checks import (
    AGGREGATES_BY_SOURCE,
    BASELINED,
    BASELINED_SOURCES,
    FILTER_FIELDS,
    RETENTION_DAYS,
    WINDOWED,
)
from services.scoring.scorecard.document import COMPARE
from services.scoring.scorecard.rollup_measures import FILTERS
from services.scoring.scorecard.segments import BUILT_IN, TEXT_OPS
from shared.custom_playbooks import BUILT_IN_PLAYBOOKS, FACTS

Doc = dict[str, Any]
# the smallest per-seat share the sample accounts' usage cannot overflow
MIN_PER_SEAT = 0.01


def make_consistent(card: Doc) -> None:
    """Fix ``card`` in place so that the document's cross-reference checks pass."""
    measures: list[Doc] = card.get("measures", [])
    for kind in (measures, card.get("components", []), card.get("segments", [])):
        _unique(kind)
    flags: list[Doc] = card.get("risk", {}).get("flags", [])
    _unique(flags)
    for measure in measures:
        _measure(measure)
    names = {m["name"] for m in measures}
    first = measures[0]["name"]
    for component in card.get("components", []):
        _component(component, names, first)
    for flag in flags:
        _conditions(flag.get("when", []), names, first)
    segments = [s["name"] for s in card.get("segments", [])]
    kinds = _attributes(card)
    for segment in card.get("segments", []):
        for condition in segment.get("when", []):
            _attribute_condition(condition, kinds)
    if card.get("default_segment") in segments:
        card["default_segment"] = _fresh(card["default_segment"], set(segments))
    everyone = [c["name"] for c in card.get("components", [])]
    card["weights"] = {
        s: dict.fromkeys(everyone, 1.0) for s in [*segments, card["default_segment"]]
    }
    bands = card.setdefault("bands", {})
    green, yellow = bands.get("green_min", 70), bands.get("yellow_min", 40)
    if not yellow < green:
        high, low = max(green, yellow), min(green, yellow)
        if high == low:  # one apart, within the bounds (above 0, at most 100)
            high, low = (high + 1, low) if high <= 99 else (high, low - 1)
        bands["green_min"], bands["yellow_min"] = high, low
    _playbooks(card, names, first, {*segments, card["default_segment"]})
    reasons = card.get("reasons", {})
    for key, known in (("trend", {"trend"}), ("low_coverage", {"coverage"})):
        if key in reasons:
            reasons[key] = _template(reasons[key], known)


def _attributes(card: Doc) -> dict[str, str]:
    """Declared attributes unique and none built in; every attribute a condition may read."""
    declared: list[Doc] = card.get("attributes", [])
    taken = set(BUILT_IN)
    for attribute in declared:
        if attribute["name"] in taken:
            attribute["name"] = _fresh(attribute["name"], taken)
        taken.add(attribute["name"])
    return {**BUILT_IN, **{a["name"]: a["type"] for a in declared}}


def _attribute_condition(condition: Doc, kinds: dict[str, str]) -> None:
    """A known attribute, an op its kind takes, a value that op takes."""
    if condition["attribute"] not in kinds:
        condition["attribute"] = "arr"
    value, op = condition["value"], condition["op"]
    if kinds[condition["attribute"]] == "number":
        if op not in COMPARE:
            condition["op"] = "<"
        if not isinstance(value, int | float):
            condition["value"] = 0
        return
    if op not in TEXT_OPS:
        condition["op"] = op = "in"
    if op in ("in", "not_in") and not isinstance(value, list):
        condition["value"] = ["x"]
    elif op not in ("in", "not_in") and not isinstance(value, str):
        condition["value"] = "x"


def fix_playbook_shapes(card: Doc) -> None:
    """Give each custom playbook's condition the fields its ``signal`` takes (a band
    condition its bands; a numeric one op, enter and an exit on the side it must cross
    back), before the document model, which checks those shapes, reads it."""
    playbooks = card.get("playbooks")
    if not isinstance(playbooks, list):
        return
    for playbook in playbooks:
        when = playbook.get("when") if isinstance(playbook, dict) else None
        if isinstance(when, dict):
            _condition_shape(when)


def _condition_shape(when: Doc) -> None:
    signal = when.get("signal")
    if signal == "band":
        for field in ("name", "op", "enter", "exit"):
            when.pop(field, None)
        if when.get("bands") is None:
            when["bands"] = ["red"]
        return
    when.pop("bands", None)
    if signal in ("component", "measure", "fact"):
        if when.get("name") is None or (signal == "fact" and when["name"] not in FACTS):
            when["name"] = FACTS[0] if signal == "fact" else "a"
    else:
        when.pop("name", None)
    if when.get("op") is None:
        when["op"] = "<"
    if when.get("enter") is None:
        when["enter"] = 0.0
    exit_ = when.get("exit")
    if isinstance(exit_, (int, float)) and isinstance(when["enter"], (int, float)):
        below = when["op"] in ("<", "<=")
        if (below and exit_ < when["enter"]) or (not below and exit_ > when["enter"]):
            when["exit"] = when["enter"]


def _playbooks(card: Doc, names: set[str], first: str, segments: set[str]) -> None:
    playbooks: list[Doc] = card.get("playbooks", [])
    _unique(playbooks)
    components = {c["name"] for c in card.get("components", [])}
    taken = {p["name"] for p in playbooks}
    for playbook in playbooks:
        if playbook["name"] in BUILT_IN_PLAYBOOKS:
            playbook["name"] = _fresh(playbook["name"], taken | set(BUILT_IN_PLAYBOOKS))
            taken.add(playbook["name"])
        when = playbook["when"]
        if when["signal"] == "measure" and when["name"] not in names:
            when["name"] = first
        if when["signal"] == "component" and when["name"] not in components:
            when["name"] = next(iter(sorted(components)))
        playbook["segments"] = [s for s in playbook.get("segments", []) if s in segments]


def _unique(items: list[Doc]) -> None:
    seen: set[str] = set()
    for item in items:
        if item["name"] in seen:
            item["name"] = _fresh(item["name"], seen)
        seen.add(item["name"])


def _fresh(name: str, taken: set[str]) -> str:
    i = 0
    while f"{name[:56]}_{i}" in taken:
        i += 1
    return f"{name[:56]}_{i}"


def _measure(m: Doc) -> None:
    aggregate = m["aggregate"]
    if aggregate not in AGGREGATES_BY_SOURCE[m["source"]]:
        m["source"] = next(s for s, kinds in AGGREGATES_BY_SOURCE.items() if aggregate in kinds)
    if aggregate in WINDOWED:
        m["window_days"] = min(m.get("window_days") or 7, RETENTION_DAYS // 2)
    else:
        m.pop("window_days", None)
    takes = FILTERS.get((m["source"], aggregate), frozenset())
    for name in FILTER_FIELDS:
        if name not in takes:
            m.pop(name, None)  # a filter on a field this data has not
    if aggregate not in BASELINED or m["source"] not in BASELINED_SOURCES:
        m.pop("baseline_days", None)
    elif m.get("baseline_days") is not None:
        m["baseline_days"] = min(m["baseline_days"], RETENTION_DAYS // 2)
    if aggregate != "open_tickets":
        m.pop("severity_weights", None)
    if m.get("per_seat") is not None:
        m["per_seat"] = max(m["per_seat"], MIN_PER_SEAT)
    points = m.get("points")
    if points:
        xs = [p["x"] for p in points]
        if any(not a < b for a, b in pairwise(xs)):
            for i, point in enumerate(points):
                point["x"] = float(i)


def _component(c: Doc, names: set[str], first: str) -> None:
    for item in c.get("measures", []):
        if item["measure"] not in names:
            item["measure"] = first
    _conditions(c.get("present_when", []), names, first)
    for gate in c.get("gates", []):
        _conditions(gate.get("when", []), names, first)
        if gate.get("reason") is not None:
            _reason(gate["reason"], names, first)
    if c.get("blend") is not None and c["blend"]["measure"] not in names:
        c["blend"]["measure"] = first
    for reason in c.get("reasons", []):
        _reason(reason, names, first)


def _conditions(conditions: list[Doc], names: set[str], first: str) -> None:
    for condition in conditions:
        if condition["measure"] not in names:
            condition["measure"] = first
        if condition["op"] in ("present", "missing"):
            condition.pop("value", None)
        elif condition.get("value") is None:
            condition["value"] = 0


def _reason(reason: Doc, names: set[str], first: str) -> None:
    _conditions(reason.get("when", []), names, first)
    reason["text"] = _template(reason["text"], names)
    if reason.get("plural") is None or reason.get("count") is None:
        reason.pop("plural", None)
        reason.pop("count", None)
    else:
        reason["plural"] = _template(reason["plural"], names)
        if reason["count"] not in names:
            reason["count"] = first


def _template(text: str, known: set[str]) -> str:
    pieces, error = templates.parse(text)
    if error or any(name not in known for name in templates.names(pieces)):
        return "reason"
    return text
