"""Who re-scores every account when a new scorecard version is stored: one replica claims it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def claim_rescore(session: AsyncSession, version: int) -> bool:
    """True for the one replica that claims the re-score of ``version``."""
    result = await session.execute(
        text(
            "UPDATE scorecard_config SET rescore_claimed_at = now()"
            " WHERE version = :v AND rescore_claimed_at IS NULL RETURNING version"
        ),
        {"v": version},
    )
    return result.first() is not None


async def release_rescore(session: AsyncSession, version: int) -> None:
    """The claimed pass did not run (another pass held the clock): claim it again later."""
    await session.execute(
        text("UPDATE scorecard_config SET rescore_claimed_at = NULL WHERE version = :v"),
        {"v": version},
    )


async def any_account(session: AsyncSession) -> bool:
    return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM accounts)")))
