"""A generated scorecard body made coherent, for schemathesis (``schemathesis_hooks.py``).

JSON Schema cannot say that one value names another (a component's measure must be
a declared measure), that an aggregate belongs to its source, or that a template's
placeholders are measure names. A positive scorecard body is made to keep those rules
with the values generated: names become unique identifiers, every reference points
at a declared name, and what the cross-reference checks
(``services.scoring.scorecard.checks``) refuse is dropped or reordered. Numbers,
filters, modes and operators stay as generated.
"""

from __future__ import annotations

from typing import Any

from services.scoring.scorecard.checks import (
    AGGREGATES_BY_SOURCE,
    BASELINED,
    BASELINED_SOURCES,
    FILTER_FIELDS,
    RETENTION_DAYS,
    WINDOWED,
)
from services.scoring.scorecard.rollup_measures import FILTERS

NO_VALUE = ("present", "missing")
LISTED = ("in", "not_in")


def _plain(text: Any) -> str:
    """A template without placeholders (its braces would name values)."""
    cleaned = str(text).replace("{", "(").replace("}", ")")
    return cleaned or "x"


def _measure(i: int, m: dict[str, Any]) -> None:
    m["name"] = f"m{i}"
    allowed = AGGREGATES_BY_SOURCE[m["source"]]
    if m["aggregate"] not in allowed:
        m["aggregate"] = sorted(allowed)[0]
    aggregate = m["aggregate"]
    takes = FILTERS.get((m["source"], aggregate), frozenset())
    for name in FILTER_FIELDS:
        if name not in takes:
            m.pop(name, None)  # a filter on a field the data has not
    if aggregate in WINDOWED:
        m["window_days"] = min(m.get("window_days") or 7, RETENTION_DAYS)
    else:
        m.pop("window_days", None)
    baseline = m.get("baseline_days")
    baselined = aggregate in BASELINED and m["source"] in BASELINED_SOURCES
    if baselined and baseline is not None and "window_days" in m:
        m["baseline_days"] = max(1, min(baseline, RETENTION_DAYS - m["window_days"]))
        if m["window_days"] >= RETENTION_DAYS:
            m.pop("baseline_days")
    else:
        m.pop("baseline_days", None)
    if aggregate != "open_tickets":
        m.pop("severity_weights", None)
    points = m.get("points")
    if points is not None:
        unique = {p["x"]: p for p in points}
        m["points"] = [unique[x] for x in sorted(unique)]
        if len(m["points"]) < 2:
            m.pop("points")


def _condition(c: dict[str, Any], names: list[str]) -> None:
    c["measure"] = names[len(str(c.get("measure", ""))) % len(names)]
    if c["op"] in NO_VALUE:
        c.pop("value", None)
    elif c.get("value") is None:
        c["value"] = 0


def _reason(r: dict[str, Any], names: list[str]) -> None:
    for c in r.get("when", []):
        _condition(c, names)
    r["text"] = _plain(r["text"])
    if r.get("plural") is not None and r.get("count") is not None:
        r["plural"], r["count"] = _plain(r["plural"]), names[0]
    else:
        r.pop("plural", None)
        r.pop("count", None)


def _component(i: int, c: dict[str, Any], names: list[str]) -> None:
    c["name"] = f"c{i}"
    for j, item in enumerate(c["measures"]):
        item["measure"] = names[j % len(names)]
    for condition in c.get("present_when", []):
        _condition(condition, names)
    for gate in c.get("gates", []):
        for condition in gate["when"]:
            _condition(condition, names)
        if gate.get("reason") is not None:
            _reason(gate["reason"], names)
    if c.get("blend") is not None:
        c["blend"]["measure"] = names[0]
    for reason in c.get("reasons", []):
        _reason(reason, names)


def _weights(card: dict[str, Any]) -> None:
    generated = [w for by in card.get("weights", {}).values() for w in by.values()]
    segments = [s["name"] for s in card["segments"]] + [card["default_segment"]]
    components = [c["name"] for c in card["components"]]
    card["weights"] = {
        segment: {
            name: generated[(i + j) % len(generated)] if generated else 1.0
            for j, name in enumerate(components)
        }
        for i, segment in enumerate(segments)
    }
    for weights in card["weights"].values():
        if sum(weights.values()) <= 0:
            weights[components[0]] = 1.0


def coherent_scorecard(card: dict[str, Any]) -> None:
    """Make ``card`` (a schema-valid scorecard, changed in place) pass the checks; a body
    that is not schema-valid (a negative case) is left as it is, to be refused."""
    try:
        _coherent(card)
    except (AttributeError, KeyError, TypeError, IndexError, ZeroDivisionError):
        return


def _coherent(card: dict[str, Any]) -> None:
    for i, m in enumerate(card["measures"]):
        _measure(i, m)
    names = [m["name"] for m in card["measures"]]
    for i, c in enumerate(card["components"]):
        _component(i, c, names)
    for i, s in enumerate(card["segments"]):
        s["name"] = f"s{i}"
        for condition in s["when"]:
            listed = isinstance(condition["value"], list)
            if listed != (condition["op"] in LISTED):
                condition["op"] = "in" if listed else "=="
    card["default_segment"] = "default"
    for i, flag in enumerate(card.get("risk", {}).get("flags", [])):
        flag["name"] = f"f{i}"
        for condition in flag["when"]:
            _condition(condition, names)
    _weights(card)
    bands = card.get("bands", {})
    green, yellow = bands.get("green_min", 70), bands.get("yellow_min", 40)
    if not yellow < green:
        low, high = min(green, yellow), max(green, yellow)
        if low == high:  # both in (0, 100]: move one apart without leaving the bounds
            high, low = (min(100.0, high + 1), low) if high < 100 else (high, 50.0)
        bands["green_min"], bands["yellow_min"] = high, low
    reasons = card.get("reasons", {})
    for key in ("trend", "low_coverage"):
        if key in reasons:
            reasons[key] = _plain(reasons[key])
