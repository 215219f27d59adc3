"""Scorecards applied to the stored population: the live one, states page by page, the diff.

Read-only: every page is read in its own short transaction and scored with no
connection held, so ``vigil scorecard diff`` works on a million accounts with the
memory of one page. An account either scorecard raises on is counted and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.domain.account_state import AccountState, StateNeeds
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.state_from_rows import build_state
from services.scoring.repository.population import (
    account_count,
    accounts_by_id,
    accounts_page,
    latest_scorecard,
    latest_scoring_config,
    scored_at,
)
from services.scoring.repository.reads import load_related
from services.scoring.scorecard.backtest import ScorecardHorizon, horizon
from services.scoring.scorecard.candidate import ScorecardCandidate
from services.scoring.scorecard.compiled import CompiledScorecard, compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.diff import BandDiff
from services.scoring.scorecard.document import Scorecard
from services.scoring.scorecard.evaluate import evaluate
from services.scoring.scorer import STATE_WINDOW
from services.scoring.trust.accuracy.features import cutoff
from services.scoring.trust.accuracy.outcomes import Outcome
from services.scoring.trust.repository import load_outcomes
from shared.database.engine import transaction

Sessions = async_sessionmaker[AsyncSession]
Progress = Callable[[int, int], None]  # accounts done, accounts in all
TREND_DAYS = 8  # the score history a trend reads (not a band)


@dataclass(frozen=True, slots=True)
class Scorable:
    account_id: str
    state: AccountState
    as_of: datetime
    stored_segment: str | None


def state_needs(*cards: CompiledScorecard) -> StateNeeds:
    """What the cards read, and how far back: at least the scorer's own window (what it
    loads decides the recent reopens and paid invoices), so the live scorecard gives each
    account the band the scorer stored, and a day more for the band a day earlier that
    hysteresis compares with."""
    needs = StateNeeds(state_days=STATE_WINDOW.days)
    for card in cards:
        needs |= card.needs
    return replace(needs, state_days=needs.state_days + 1, rollup_days=needs.rollup_days + 1)


async def live_scorecard(session: AsyncSession) -> ScorecardCandidate:
    """The scorecard in force: the stored live scorecard, else the live model config as a
    scorecard (the defaults when none is stored yet), named as scores name it (the
    model's own version then)."""
    document = await latest_scorecard(session)
    if document is not None:
        card = Scorecard.model_validate(document)
        return ScorecardCandidate(card, compile_scorecard(card))
    stored = await latest_scoring_config(session)
    config = HealthModelConfig() if stored is None else HealthModelConfig.model_validate(stored)
    card = scorecard_from_config(config)
    return ScorecardCandidate(card, compile_scorecard(card), label=config.model_version)


async def _scorable(
    session: AsyncSession,
    accounts: Sequence[Any],
    needs: StateNeeds,
    since: datetime | None = None,
) -> list[Scorable]:
    """The accounts' states at their latest score, read from ``days`` before the earliest
    of those (or before ``since``)."""
    times = {a.account_id: scored_at(a) for a in accounts}
    known = [a for a in accounts if times[a.account_id] is not None]
    if not known:
        return []
    earliest = since or min(t for t in times.values() if t is not None)
    related = await load_related(
        session,
        [a.account_id for a in known],
        since=earliest - timedelta(days=needs.state_days),
        history_since=earliest - timedelta(days=TREND_DAYS),
        needs=needs,
        rollups_since=(earliest - timedelta(days=needs.rollup_days)).date(),
    )
    return [
        Scorable(a.account_id, build_state(a, related), times[a.account_id], a.segment)  # type: ignore[arg-type]
        for a in known
    ]


async def pages(
    sessions: Sessions, needs: StateNeeds, chunk: int, progress: Progress | None = None
) -> AsyncIterator[list[Scorable]]:
    """Every account's state at its latest score, ``chunk`` accounts at a time."""
    async with transaction(sessions) as session:
        total = await account_count(session)
    done, after = 0, None
    while True:
        async with transaction(sessions) as session:
            accounts = await accounts_page(session, after, chunk)
            if not accounts:
                return
            scorable = await _scorable(session, accounts, needs)
        after = accounts[-1].account_id
        done += len(accounts)
        yield scorable
        if progress is not None:
            progress(done, max(total, done))


async def states_of(
    sessions: Sessions, account_ids: Sequence[str], needs: StateNeeds, since: datetime, chunk: int
) -> AsyncIterator[list[Scorable]]:
    """The states of ``account_ids`` (those that exist), read back from ``since``."""
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), chunk):
        async with transaction(sessions) as session:
            accounts = await accounts_by_id(session, ids[start : start + chunk])
            page = await _scorable(session, accounts, needs, since)
        yield page


def diff_page(
    diff: BandDiff, live: CompiledScorecard, candidate: CompiledScorecard, page: list[Scorable]
) -> None:
    for account in page:
        try:
            old = evaluate(live, account.state, account.as_of)
            new = evaluate(candidate, account.state, account.as_of)
        except Exception:  # noqa: BLE001 - one account's odd data never stops the diff
            diff.fail(account.account_id)
            continue
        diff.add(account.account_id, old.segment, old.band, new.band, new.segment)


async def diff_population(
    sessions: Sessions,
    live: tuple[Scorecard, CompiledScorecard],
    candidate: tuple[Scorecard, CompiledScorecard],
    *,
    chunk: int = 1000,
    samples: int = 5,
    progress: Progress | None = None,
) -> BandDiff:
    diff = BandDiff(samples=samples)
    needs = state_needs(live[1], candidate[1])
    async for page in pages(sessions, needs, chunk, progress):
        diff_page(diff, live[1], candidate[1], page)
    return diff


async def outcome_states(
    sessions: Sessions,
    outcomes: Sequence[Outcome],
    horizons: Sequence[int],
    cards: Sequence[CompiledScorecard],
    chunk: int = 1000,
) -> dict[str, AccountState]:
    """The state of every account with an outcome, read back far enough for the cards'
    measures at the earliest cut-off of the longest horizon."""
    if not outcomes or not horizons:
        return {}
    earliest = min(cutoff(o, max(horizons)) for o in outcomes)
    states: dict[str, AccountState] = {}
    ids = [o.account_id for o in outcomes]
    needs = state_needs(*cards)
    # the users' and features' active days put their use back at each cut-off (past_state)
    needs = replace(
        needs, rollups=True, user_days=True, rollup_days=max(needs.rollup_days, needs.state_days)
    )
    async for page in states_of(sessions, ids, needs, earliest, chunk):
        states.update((s.account_id, s.state) for s in page)
    return states


async def backtest(
    sessions: Sessions, candidate: ScorecardCandidate, horizons: Sequence[int]
) -> tuple[ScorecardCandidate, list[ScorecardHorizon]]:
    """The live scorecard and the candidate on the stored outcomes, each horizon point in
    time (``scorecard.backtest``); the statistics run with no connection held."""
    async with transaction(sessions) as session:
        live = await live_scorecard(session)
        outcomes = await load_outcomes(session)
    states = await outcome_states(sessions, outcomes, horizons, [live.compiled, candidate.compiled])

    def compute() -> list[ScorecardHorizon]:
        return [horizon(outcomes, states, live, candidate, days) for days in horizons]

    return live, await asyncio.to_thread(compute)
