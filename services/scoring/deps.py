"""FastAPI dependency aliases of scoring, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.runtime import ScoringRuntime


def get_runtime(request: Request) -> ScoringRuntime:
    runtime: ScoringRuntime = request.app.state.scoring
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the request owns: committed before the response."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


RuntimeDep = Annotated[ScoringRuntime, Depends(get_runtime)]
# scope="function": the transaction commits when the route returns, before the response
# is sent, so a 2xx is never answered for a write that then fails to commit
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
