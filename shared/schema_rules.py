"""What a config's validation requires beyond each field, said in its JSON Schema.

Key sets become ``required`` and ``propertyNames``. An order between two fields
(``yellow_min`` below ``green_min``) has no JSON Schema keyword: it is listed
under ``x-vigil-order`` as ``[a, "<" or "<=", b]`` with a sentence in the
description, and the validator checks the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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


# A date-time that must lie in a window around the server's now (a snooze's end, an
# override's expiry, a clock endpoint's time) has no JSON Schema keyword either: the
# window is stated under ``x-vigil-window`` in seconds from now, with a sentence.
WINDOW_KEYWORD = "x-vigil-window"


@dataclass(frozen=True)
class Window:
    """``after_s < t - now <= before_s`` (``None``: that side unbounded)."""

    after_s: float | None = None
    before_s: float | None = None

    def holds(self, offset_s: float) -> bool:
        return (self.after_s is None or offset_s > self.after_s) and (
            self.before_s is None or offset_s <= self.before_s
        )

    def state(self, schema: dict[str, Any]) -> None:
        """Written into ``schema`` (a property's or a parameter's)."""
        schema[WINDOW_KEYWORD] = {
            k: v
            for k, v in (("after_s", self.after_s), ("before_s", self.before_s))
            if v is not None
        }
        said = []
        if self.after_s is not None:
            said.append(f"after {_from_now(self.after_s)}")
        if self.before_s is not None:
            said.append(f"at most {_from_now(self.before_s)}")
        sentence = f"Must be {' and '.join(said)} (the server's clock)."
        before = (schema.get("description") or "").rstrip()
        if before and not before.endswith("."):
            before += "."
        schema["description"] = f"{before} {sentence}".strip()


def _from_now(offset_s: float) -> str:
    if offset_s == 0:
        return "now"
    return f"now {'+' if offset_s > 0 else '-'} {abs(offset_s):g} s"


@dataclass(frozen=True)
class WindowAt:
    """A window that depends on settings, stated where it applies in the OpenAPI
    document: a component schema's property, or an operation's query parameter."""

    window: Window
    schema: str | None = None  # component schema name
    property: str | None = None
    path: str | None = None  # operation path and method, with the parameter's name
    method: str = "post"
    parameter: str | None = None


def state_windows(document: dict[str, Any], windows: Iterable[WindowAt]) -> None:
    for at in windows:
        if at.schema is not None and at.property is not None:
            target = document["components"]["schemas"][at.schema]["properties"][at.property]
        else:
            params = document["paths"][at.path][at.method].get("parameters", [])
            target = next(p for p in params if p["name"] == at.parameter)["schema"]
        at.window.state(target)
