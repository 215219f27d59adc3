"""What a config's validation requires beyond each field, said in its JSON Schema.

Key sets become ``required`` and ``propertyNames``. An order between two fields
(``yellow_min`` below ``green_min``) has no JSON Schema keyword: it is listed
under ``x-vigil-order`` as ``[a, "<" or "<=", b]`` with a sentence in the
description, and the validator checks the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BeforeValidator

ORDER_KEYWORD = "x-vigil-order"
Order = tuple[str, Literal["<", "<="], str]


def keys_exactly(keys: Iterable[str]) -> dict[str, Any]:
    """The object must have exactly these keys."""
    names = list(keys)
    return {"required": names, "propertyNames": {"enum": names}}


def keys_among(keys: Iterable[str]) -> dict[str, Any]:
    """The object's keys must be among these (any may be left out)."""
    return {"propertyNames": {"enum": list(keys)}}


def ordered(rules: Sequence[Order]) -> Callable[[dict[str, Any]], None]:
    """The schema statement of ``rules``: the extension keyword, and a sentence added to
    the model's description."""
    said = ", ".join(f"{a} {op} {b}" for a, op, b in rules)

    def state(schema: dict[str, Any]) -> None:
        schema[ORDER_KEYWORD] = [list(rule) for rule in rules]
        schema["description"] = f"{schema.get('description') or ''} Requires {said}.".strip()

    return state


def out_of_order(values: dict[str, Any], rules: Sequence[Order]) -> list[str]:
    """Each rule ``values`` breaks, as written in the schema."""
    broken = []
    for a, op, b in rules:
        holds = values[a] < values[b] if op == "<" else values[a] <= values[b]
        if not holds:
            broken.append(f"{a} {op} {b}")
    return broken


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After an int's constraints (``Annotated[int, Field(ge=1), WHOLE]``; before them the
# schema would lose its minimum/maximum): an integer as JSON Schema has it, 7 and 7.0
# are one number and `true` is none, for models in strict mode (which refuse 7.0).
WHOLE = BeforeValidator(_whole)
