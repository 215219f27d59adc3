"""How segments read account attributes: the checks, and a condition compiled.

``arr`` and ``seats`` are numbers and ``plan`` is text, from the subscription
columns; any other attribute is an extra field of subscription events that the
scorecard declares with its type. Numbers compare (``<`` … ``!=``); text is
``in`` / ``not_in`` a list of values or ``==`` / ``!=`` one value. An account
without a value for the attribute satisfies no condition on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from services.scoring.domain.account_state import AccountState
from services.scoring.scorecard.document import COMPARE, AttributeCondition, Scorecard

AttributeKind = str  # "text" | "number"
BUILT_IN: Mapping[str, AttributeKind] = {"arr": "number", "seats": "number", "plan": "text"}
TEXT_OPS = ("in", "not_in", "==", "!=")
Read = Callable[[AccountState], "float | str | None"]


def attribute_kinds(card: Scorecard) -> dict[str, AttributeKind]:
    """Every attribute a segment of ``card`` may read, with its kind (a name declared twice
    or a built-in one declared again: the first says, as the checks report the others)."""
    return {**{a.name: a.type for a in reversed(card.attributes)}, **BUILT_IN}


def segment_errors(card: Scorecard) -> Iterable[str]:
    """Declared attributes and every segment condition against them, with their paths."""
    seen: set[str] = set()
    for i, declared in enumerate(card.attributes):
        if declared.name in BUILT_IN:
            yield f"attributes[{i}].name: {declared.name!r} is built in (do not declare it)"
        elif declared.name in seen:
            yield f"attributes[{i}].name: duplicate name {declared.name!r}"
        seen.add(declared.name)
    kinds = attribute_kinds(card)
    for i, segment in enumerate(card.segments):
        for j, condition in enumerate(segment.when):
            yield from _condition(f"segments[{i}].when[{j}]", condition, kinds)


def _condition(
    path: str, c: AttributeCondition, kinds: Mapping[str, AttributeKind]
) -> Iterable[str]:
    kind = kinds.get(c.attribute)
    if kind is None:
        yield (
            f"{path}.attribute: unknown attribute {c.attribute!r} "
            "(arr, seats, plan, or one declared under attributes)"
        )
        return
    listed, text = isinstance(c.value, list), isinstance(c.value, str)
    if kind == "text" and c.op not in TEXT_OPS:
        yield f"{path}.op: {c.attribute} is text: it takes in, not_in, == or !="
    elif c.op in ("in", "not_in") and kind == "number":
        yield f"{path}.op: {c.attribute} is a number: compare it (<, <=, >, >=, ==, !=)"
    elif c.op in ("in", "not_in") and not listed:
        yield f"{path}.value: {c.op} takes a list of values"
    elif kind == "text" and c.op not in ("in", "not_in") and not text:
        yield f"{path}.value: {c.op} on text takes one value (a string)"
    elif kind == "number" and (listed or text):
        yield f"{path}.value: {c.op} takes a number"


def compile_condition(
    c: AttributeCondition, kinds: Mapping[str, AttributeKind]
) -> Callable[[AccountState], bool]:
    """``c`` as a test of a state (``c`` passed :func:`segment_errors`)."""
    read = _reader(c.attribute, kinds[c.attribute])
    if isinstance(c.value, list):
        wanted, inside = frozenset(c.value), c.op == "in"
        return lambda state: (v := read(state)) is not None and (v in wanted) == inside
    if isinstance(c.value, str):
        one, equal = c.value, c.op == "=="
        return lambda state: (v := read(state)) is not None and (v == one) == equal
    compare, threshold = COMPARE[c.op], float(c.value)
    return lambda state: isinstance(v := read(state), float) and compare(v, threshold)


def _reader(name: str, kind: AttributeKind) -> Read:
    if name == "arr":
        return lambda state: None if state.arr is None else float(state.arr)
    if name == "seats":
        return lambda state: None if state.seats is None else float(state.seats)
    if name == "plan":
        return lambda state: state.plan
    if kind == "number":
        return lambda state: _number(state.attributes.get(name))
    return lambda state: v if isinstance(v := state.attributes.get(name), str) else None


def _number(value: float | str | None) -> float | None:
    """A number attribute's value: a JSON number, or a string that spells a finite one."""
    if isinstance(value, float) or value is None:
        return value
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
