"""FastAPI dependencies every service shares, in one place.

The skeleton (:mod:`shared.service`) stores each service's runtime on
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
    """A session whose transaction the request owns: committed when the route returns."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


def get_now(request: Request) -> datetime:
    """The service's injected clock (``create_app(now=...)``), read once per request."""
    now: datetime = get_runtime(request).now()
    return now


SessionDep = Annotated[AsyncSession, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
