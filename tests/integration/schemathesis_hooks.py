"""Schemathesis hooks for tests/integration/test_openapi.py (loaded by SCHEMATHESIS_HOOKS).

JSON Schema has no keyword for an order between two fields, so the configs state
theirs under ``x-vigil-order`` (see shared/schema_rules.py). A generated positive
body is put in the order the schema states, by swapping the two values (or
halving the smaller of two equal ones for a strict order), reading every rule and
default from the operation's own schema. A generated scorecard
(``PUT /v1/config/scorecard``) has its references resolved the same way
(``schemathesis_scorecard.py``): what its schema cannot say. Nothing else is
changed, and no status is excused: any other refusal of schema-valid data still
fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from pydantic import ValidationError
from schemathesis.generation.modes import GenerationMode

from services.scoring.scorecard.document import Scorecard
from shared.schema_rules import ORDER_KEYWORD
from tests.integration.schemathesis_scorecard import make_consistent

SCORECARD = ("PUT", "/v1/config/scorecard")


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = getattr(case, "meta", None)
    positive = meta is None or meta.generation.mode == GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict):
        body_schema = _body_schema(case.operation)
        if body_schema is not None:
            _put_in_order(case.body, body_schema, case.operation.schema.raw_schema)
        _consistent_scorecard(case)
    return case


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    # the last moment: a phase may change a positive body after ``map_case``
    meta = getattr(case, "meta", None)
    if (meta is None or meta.generation.mode == GenerationMode.POSITIVE) and isinstance(
        case.body, dict
    ):
        _consistent_scorecard(case)


def _consistent_scorecard(case: Any) -> None:
    if (case.operation.method.upper(), case.operation.path) != SCORECARD:
        return
    try:
        Scorecard.model_validate(case.body)
    except ValidationError:
        return  # what the service must refuse anyway
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
