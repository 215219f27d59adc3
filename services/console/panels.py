"""A page is made of panels; each one either has its data or says why not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from services.console.upstream import NotAvailable, UpstreamError


@dataclass(frozen=True)
class Panel:
    value: Any = None
    error: str | None = None
    missing: bool = False  # 404: the route (or the object) is not there

    @property
    def ok(self) -> bool:
        return self.error is None


async def panel(call: Awaitable[Any]) -> Panel:
    try:
        return Panel(await call)
    except NotAvailable as error:
        return Panel(error=str(error), missing=True)
    except UpstreamError as error:
        return Panel(error=str(error))


async def panels(*calls: Awaitable[Any]) -> list[Panel]:
    """Every call at once: a page waits for its slowest service, not for their sum."""
    return list(await asyncio.gather(*(panel(c) for c in calls)))
