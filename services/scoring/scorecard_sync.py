"""Every replica follows the live scorecard; one re-scores every account when it changes.

The loop polls ``scorecard_config`` as the config followers do. A new version
(above 1, the defaults row every database starts with) is claimed by one replica,
which runs a pass of the chunked clock at once, so that every account is scored by
the new scorecard without waiting for the clock's interval. A pass that could not
take the clock's lock (another pass was running) is released and tried again; with
no account yet there is nothing to re-score.
"""

from __future__ import annotations

import asyncio

from services.scoring.repository.scorecards import any_account, claim_rescore, release_rescore
from services.scoring.runtime import ScoringRuntime
from shared.database.engine import transaction
from shared.logging import get_logger
from shared.retry import wait_or_stop

log = get_logger(__name__)
DEFAULTS_VERSION = 1


class ScorecardFollower:
    def __init__(self, runtime: ScoringRuntime, interval_s: float) -> None:
        self._runtime = runtime
        self._interval_s = interval_s
        self._rescored = DEFAULTS_VERSION

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.step()
            except Exception as error:  # noqa: BLE001 - a database outage: try again next time
                log.warning("scorecard follow failed", error=repr(error))
            await wait_or_stop(stop, self._interval_s)

    async def step(self) -> int | None:
        """Follow the stored version; re-score every account if this replica claims it.
        Returns the accounts re-scored, or None when there was nothing to do."""
        runtime, store = self._runtime, self._runtime.scorecard_store
        async with transaction(runtime.sessions) as session:
            await store.refresh(session)
            version = store.version
            if version <= self._rescored:
                return None
            claimed = await claim_rescore(session, version)
        if not claimed:
            self._rescored = version  # another replica re-scores
            return None
        accounts = await runtime.clock.run_pass(runtime.clock.now())
        if accounts == 0:
            async with transaction(runtime.sessions) as session:
                if await any_account(session):  # the clock was busy: try again
                    await release_rescore(session, version)
                    return None
        self._rescored = version
        runtime.relay.wake()
        log.info("accounts re-scored for a new scorecard", version=version, accounts=accounts)
        return accounts
