"""Schemathesis hooks for tests/integration/test_openapi.py (loaded by SCHEMATHESIS_HOOKS).

JSON Schema has no keyword for an order between two fields, so the configs state
theirs under ``x-vigil-order`` (see shared/schema_rules.py). A generated positive
body is put in the order the schema states, by swapping the two values (or
halving the smaller of two equal ones for a strict order), reading every rule and
default from the operation's own schema. A generated scorecard
(``PUT /v1/config/scorecard``, or a scorecard as ``PUT /v1/model/shadow``'s
candidate) has its references resolved the same way (``schemathesis_scorecard.py``):
what its schema cannot say. A date-time the schema bounds around the server's now
(``x-vigil-window``: a snooze's end, an override's expiry, a clock endpoint's time)
is moved into that window, a couple of minutes clear of its edges for the request's
own latency. Nothing else is changed, and no status is excused: any other refusal of
schema-valid data still fails the run.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from pydantic import ValidationError
from schemathesis.generation.modes import GenerationMode

from services.scoring.scorecard.document import Scorecard
from shared.schema_rules import ORDER_KEYWORD, WINDOW_KEYWORD
from tests.integration.schemathesis_scorecard import fix_playbook_shapes, make_consistent

SCORECARD = ("PUT", "/v1/config/scorecard")
# a candidate that declares measures is a scorecard (``services.scoring.trust.api``)
SHADOW = ("PUT", "/v1/model/shadow")


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    positive = _positive(case)
    if positive and isinstance(case.body, dict):
        body_schema = _body_schema(case.operation)
        if body_schema is not None:
            _put_in_order(case.body, body_schema, case.operation.schema.raw_schema)
            _into_windows(case.body, body_schema, case.operation.schema.raw_schema)
    if positive and isinstance(case.query, dict):
        for parameter in case.operation.definition.raw.get("parameters", []):
            window = parameter.get("schema", {}).get(WINDOW_KEYWORD)
            value = case.query.get(parameter["name"])
            if window is not None and isinstance(value, str):
                case.query[parameter["name"]] = _inside(window, value)
    _consistent_scorecard(case, shadow=positive)
    return case


MARGIN_S = 120.0  # the request's own latency, between generating a time and its check
UNBOUNDED_S = 10 * 365 * 86_400.0


def _inside(window: dict[str, float], generated: str) -> str:
    """A time in ``window``, at a place the generated value picks (so runs still vary)."""
    low = window.get("after_s", -UNBOUNDED_S) + MARGIN_S
    high = window.get("before_s", UNBOUNDED_S) - MARGIN_S
    share = int.from_bytes(hashlib.sha256(generated.encode()).digest()[:4]) / 2**32
    offset = low + share * max(high - low, 0.0)
    return (datetime.now(UTC) + timedelta(seconds=offset)).isoformat()


def _into_windows(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any]) -> None:
    schema = _resolve(schema, root)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(branch, dict):
            _into_windows(value, branch, root)
    for name, inner in schema.get("properties", {}).items():
        window = _resolve(inner, root).get(WINDOW_KEYWORD)
        if window is not None and isinstance(value.get(name), str):
            value[name] = _inside(window, value[name])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    # a case labelled negative when generated is relabelled by what is sent: a scorecard
    # body that is schema-valid by then is sent consistent too
    _consistent_scorecard(case, shadow=_positive(case))


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


def _consistent_scorecard(case: Any, *, shadow: bool = False) -> None:
    """``shadow``: a shadow candidate too (generated positive only: a negative case the
    lax document model takes, such as a number sent as a string, stays as generated)."""
    operation = (case.operation.method.upper(), case.operation.path)
    if not isinstance(case.body, dict):
        return
    candidate = shadow and operation == SHADOW and "measures" in case.body
    if operation != SCORECARD and not candidate:
        return
    shaped = copy.deepcopy(case.body)
    if _positive(case):  # a negative case's shapes stay as generated
        fix_playbook_shapes(shaped)
    try:
        Scorecard.model_validate(shaped)
    except ValidationError:
        return  # schema-invalid: a negative case, sent as generated
    case.body.clear()
    case.body.update(shaped)
    make_consistent(case.body)


def _body_schema(operation: Any) -> dict[str, Any] | None:
    body = operation.definition.raw.get("requestBody", {})
    schema: dict[str, Any] | None = (
        body.get("content", {}).get("application/json", {}).get("schema")
    )
    return schema


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _put_in_order(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any]) -> None:
    schema = _resolve(schema, root)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        # a body that may be either of two shapes (a config, or the document GET answers):
        # each branch's rules name only its own fields, so applying both is harmless
        if isinstance(branch, dict):
            _put_in_order(value, branch, root)
    properties = schema.get("properties", {})
    for _ in range(len(schema.get(ORDER_KEYWORD, []))):  # a chain settles in as many passes
        for a, op, b in schema.get(ORDER_KEYWORD, []):
            x = value.get(a, _resolve(properties.get(a, {}), root).get("default"))
            y = value.get(b, _resolve(properties.get(b, {}), root).get("default"))
            if x is None or y is None or x < y or (op == "<=" and x == y):
                continue
            if x > y:
                value[a], value[b] = y, x
            else:
                value[a] = x // 2 if isinstance(x, int) else x / 2
    for name, item in value.items():
        inner = properties.get(name, schema.get("additionalProperties"))
        if isinstance(item, dict) and isinstance(inner, dict):
            _put_in_order(item, inner, root)
