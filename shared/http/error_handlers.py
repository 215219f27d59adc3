"""Every error a service answers has one shape, :class:`ErrorBody`, whatever
raised it (a :class:`~shared.errors.VigilError`, request validation, an unknown
route, a transient database error); the OpenAPI document declares exactly that."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.database.engine import is_transient_db_error
from shared.errors import (
    DatabaseUnavailable,
    VigilError,
    http_status_for,
)
from shared.http.openapi import ErrorBody, ErrorItem


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(detail=detail, **extra).model_dump(mode="json", exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map the one exception tree (and FastAPI's own errors) to :class:`ErrorBody`."""

    async def vigil(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, VigilError)
        return _error(http_status_for(error), str(error))

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        items = [
            ErrorItem(loc=list(e["loc"]), msg=str(e["msg"]), type=str(e["type"]))
            for e in error.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.msg}" for i in items)
        return _error(422, f"invalid request: {summary}"[:2000], errors=items)

    async def starlette(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI's "error parsing the body": a validation error
            return _error(422, f"invalid request body: {error.detail}")
        response = _error(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    async def database(_request: Request, error: Exception) -> JSONResponse:
        if not is_transient_db_error(error):
            raise error  # a bug: the server error it is
        return _error(503, str(DatabaseUnavailable("the database is unavailable; retry later")))

    app.add_exception_handler(VigilError, vigil)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, starlette)
    app.add_exception_handler(DBAPIError, database)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)
