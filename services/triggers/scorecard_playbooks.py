"""The live scorecard's custom playbooks, read from the table scoring stores it in.

Each row is ``{"scorecard": <document> | null}`` (null: the built-in model scores).
Why from there and not from the playbook config: a custom playbook names the
scorecard's measures, components and segments, so it is validated, versioned and
applied with them as one document; a second copy in triggers' config could name
a measure the live scorecard no longer has. Triggers reads only the ``version``
and ``playbooks`` of the newest stored row and follows it by polling, as every
replica follows its configs (``shared.database.config_store``), and at once when a
health change names a model version it has not seen (scoring stores a scorecard
before it publishes a change scored by it, so the first changes of a re-score are
judged with its playbooks, not the ones before). It never writes the table.

A stored row whose playbooks do not parse is logged and skipped (the ones in
force stay); no table or no row means no custom playbooks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.custom_playbooks import ScorecardPlaybooks
from shared.logging import get_logger
from shared.retry import wait_or_stop

TABLE = "scorecard_config"
NEWEST = f"SELECT version, config FROM {TABLE} ORDER BY version DESC LIMIT 1"
log = get_logger(__name__)


class LivePlaybooks:
    """The custom playbooks in force (``current``) and the stored version they came from."""

    def __init__(self) -> None:
        self.version = 0
        self.current = ScorecardPlaybooks()
        self._refused = 0

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> ScorecardPlaybooks:
        """Adopt the newest stored scorecard's playbooks (its own transaction: a missing
        table must not abort the caller's)."""
        try:
            async with sessions() as session, session.begin():
                row = (await session.execute(text(NEWEST))).first()
        except DBAPIError as error:
            log.warning("live scorecard not readable", table=TABLE, error=repr(error))
            return self.current
        return self._consider(row)

    async def refresh_within(self, session: AsyncSession) -> ScorecardPlaybooks:
        """:meth:`refresh` inside the caller's transaction (a savepoint: an error there
        leaves the caller's transaction usable)."""
        try:
            async with session.begin_nested():
                row = (await session.execute(text(NEWEST))).first()
        except DBAPIError as error:
            log.warning("live scorecard not readable", table=TABLE, error=repr(error))
            return self.current
        return self._consider(row)

    def _consider(self, row: Any) -> ScorecardPlaybooks:
        if row is not None and int(row[0]) not in (self.version, self._refused):
            self._adopt(int(row[0]), dict(row[1]))
        return self.current

    def _adopt(self, version: int, raw: dict[str, Any]) -> None:
        # a row is {"scorecard": <document> | null}; null: the built-in model, no custom playbooks
        document = raw.get("scorecard") or {}
        try:
            self.current = ScorecardPlaybooks.model_validate(document)
        except ValidationError as error:
            self._refused = version
            log.error(
                "stored scorecard's playbooks refused; keeping those in force",
                refused_version=version,
                kept_version=self.version,
                error=str(error),
            )
            return
        self.version = version
        log.info(
            "custom playbooks in force",
            version=version,
            playbooks=[p.name for p in self.current.playbooks],
        )

    def follower(
        self, sessions: async_sessionmaker[AsyncSession], interval_s: float
    ) -> PlaybooksFollower:
        return PlaybooksFollower(self, sessions, interval_s)


class PlaybooksFollower:
    """A service loop that keeps :class:`LivePlaybooks` on the newest stored scorecard."""

    def __init__(
        self, live: LivePlaybooks, sessions: async_sessionmaker[AsyncSession], interval_s: float
    ) -> None:
        self._live = live
        self._sessions = sessions
        self._interval_s = interval_s

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._live.refresh(self._sessions)
            except Exception as error:  # noqa: BLE001 - a database outage: try again next time
                log.warning("live scorecard refresh failed", error=repr(error))
            await wait_or_stop(stop, self._interval_s)
