"""FastAPI dependency aliases of triggers, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.runtime import TriggersRuntime


def get_runtime(request: Request) -> TriggersRuntime:
    runtime: TriggersRuntime = request.app.state.triggers
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the request owns: committed before the response."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


RuntimeDep = Annotated[TriggersRuntime, Depends(get_runtime)]
# scope="function": the transaction commits when the route returns, before the response
# is sent, so a 2xx is never answered for a write that then fails to commit
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
