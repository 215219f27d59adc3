"""The error shape of every Vigil API and how the OpenAPI documents declare it.

Every error a service answers is an :class:`ErrorBody`; :func:`document_errors`
makes each service's OpenAPI document say so: the bearer scheme and 401 under
``/v1``, 413 everywhere (the body cap), 503 where the database is behind, and
this one schema for every 4xx, FastAPI's own validation errors included.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


class ErrorItem(BaseModel):
    """One field that failed request validation."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The one error shape of every Vigil API: a message, and per field when validation failed."""

    detail: str
    errors: list[ErrorItem] | None = None


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it answers, each with :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _REASONS[status]} for status in statuses}


_REASONS = {
    401: "missing or invalid bearer token",
    404: "no such resource",
    409: "conflicts with the stored state",
    413: "request body over its cap",
    422: "the request failed validation",
    503: "a dependency is unavailable; retry later",
}


def document_errors(schema: dict[str, Any], *, database: bool = False) -> dict[str, Any]:
    """Declare the bearer scheme, 401 under ``/v1``, 413 everywhere, one error body."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _, defs = models_json_schema(
        [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas.update(defs["$defs"])
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if path.startswith("/v1/"):
                operation["security"] = [{"bearer": []}]
                responses["401"] = _error_response(401)
                if database:
                    responses["503"] = _error_response(503)
            responses["413"] = _error_response(413)
            for code in list(responses):
                if code.startswith("4") or (code == "503" and path.startswith("/v1/")):
                    responses[code] = _error_response(int(code), responses[code])
    return schema


def _error_response(status: int, declared: dict[str, Any] | None = None) -> dict[str, Any]:
    description = (declared or {}).get("description") or _REASONS.get(status, "error")
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
