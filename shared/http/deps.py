"""FastAPI dependencies every service shares, in one place.

The skeleton (:mod:`shared.service.skeleton`) stores each service's runtime on
``app.state.runtime``; a service names its typed alias next to its runtime class
(``RuntimeDep = Annotated[ScoringRuntime, Depends(get_runtime)]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


def get_runtime(request: Request) -> Any:
    """The running service's runtime; typed by the service's ``RuntimeDep`` alias."""
    return request.app.state.runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the request owns: committed before the response.

    From the runtime's ``api_sessions`` when it has them (a pool of the routes' own,
    so requests never hold the connections the consumer loop needs), else ``sessions``.
    """
    runtime = get_runtime(request)
    sessions = getattr(runtime, "api_sessions", None) or runtime.sessions
    async with sessions() as session, session.begin():
        yield session


def get_now(request: Request) -> datetime:
    """The service's injected clock (``create_app(now=...)``), read once per request."""
    now: datetime = get_runtime(request).now()
    return now


# scope="function": the transaction commits when the route returns, before the response
# is sent, so a 2xx is never answered for a write that then fails to commit
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
