"""Versioned configuration kept in PostgreSQL (scoring model, playbook rules).

Each update is a new row ``(version, config, changed_by, created_at)``; the highest
version is in force. Instances cache it and follow versions written by others
(``follow`` polls every few seconds). A config is checked before it is stored
(``check``: bounds, round trip, sample evaluations); a stored version that fails
its check is logged and skipped, so it can never crash-loop a service at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt, StrictStr, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import Conflict, InvalidInput
from shared.logging import get_logger
from shared.retry import wait_or_stop

M = TypeVar("M", bound=BaseModel)
TABLES = frozenset({"scoring_config", "playbook_config", "scorecard_config"})
log = get_logger(__name__)


@dataclass(frozen=True)
class Stored:
    """Who stored a version and when (``changed_by`` is None for one written by hand)."""

    changed_by: str | None
    created_at: datetime | None


def _timestamp_text(value: Any) -> Any:
    """A timestamp in JSON is a string: a number is not read as seconds since 1970."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("created_at must be an RFC 3339 timestamp string")
    return value


class ConfigDocument(BaseModel, Generic[M]):
    """What a config route's GET answers; its PUT takes it back, changed.

    ``version`` is the version read: the update is refused (409) if another was stored
    since. ``changed_by`` and ``created_at`` are recorded when a version is stored; sent
    back they are ignored, as is the version label derived from the config (a subclass
    names it: ``model_version``, ``rules_version``)."""

    # what the schema says is an integer or a string is not coerced from another type
    # (schemathesis checks that a schema-violating body is refused)
    model_config = ConfigDict(extra="forbid")

    version: StrictInt | None = None
    changed_by: StrictStr | None = None
    created_at: Annotated[datetime | None, BeforeValidator(_timestamp_text)] = None
    config: M


def document_or_config(body: Any) -> str:
    """A PUT body is the document GET answers (it has ``config``) or a config alone."""
    return "document" if isinstance(body, dict) and "config" in body else "config"


class VersionedConfig(Generic[M]):
    def __init__(
        self, table: str, model: type[M], check: Callable[[M], None] = lambda _config: None
    ) -> None:
        if table not in TABLES:
            raise ValueError(f"not a config table: {table}")
        self._table = table
        self._model = model
        self._check = check
        self.version = 0
        self.current: M = model()
        self._refused = 0  # the newest stored version that failed its check, logged once

    async def refresh(self, session: AsyncSession) -> M:
        """Load the version in force (storing the defaults as version 1 on first use)."""
        stored = await self._latest(session)
        if stored is None:
            await self._insert(session, 1, self.current.model_dump(mode="json"), "defaults")
            self.version = 1
        elif stored[0] != self.version and stored[0] != self._refused:
            try:
                config = self.validated(stored[1])
            except InvalidInput as error:
                self._refused = stored[0]
                if self.version == 0:  # at start: the newest stored version that passes
                    await self._fall_back(session)
                log.error(
                    "stored config refused; keeping the one in force",
                    table=self._table,
                    refused_version=stored[0],
                    kept_version=self.version,
                    error=str(error),
                )
            else:
                self.version, self.current = stored[0], config
        return self.current

    def validated(self, raw: dict[str, Any] | M) -> M:
        """Parse, round-trip and check a config; ``InvalidInput`` says why it is refused."""
        try:
            config = raw if isinstance(raw, self._model) else self._model.model_validate(raw)
            again = self._model.model_validate_json(config.model_dump_json())
            # fields, not ==: pydantic's == also compares private caches (a model_version
            # already computed on ``config`` but not yet on ``again``)
            if again.model_dump() != config.model_dump():
                raise ValueError("the config does not survive a JSON round trip")
            self._check(config)
        except (ValidationError, ValueError, ArithmeticError, KeyError) as error:
            raise InvalidInput(f"config refused: {error}") from None
        return config

    async def update(
        self, session: AsyncSession, config: M, changed_by: str, *, read: int | None = None
    ) -> int:
        """Check and store ``config`` as the next version; the caller's transaction commits it.

        ``read``: the version the caller read and changed; refused (``Conflict``) when
        another was stored since, so that a read-change-write loses no one's change."""
        config = self.validated(config)
        await self.refresh(session)
        latest = await self._latest(session)
        newest = max(self.version, latest[0] if latest else 0)
        if read is not None and read != newest:
            raise Conflict(
                f"the configuration is at version {newest}, not {read} as read; read it and retry"
            )
        version = newest + 1
        payload = config.model_dump(mode="json")
        if not await self._insert(session, version, payload, changed_by):
            raise Conflict("the configuration was updated concurrently; read it and retry")
        self.version, self.current = version, config
        return version

    async def stored(self, session: AsyncSession) -> Stored:
        """Who stored the version in force, and when."""
        row = (
            await session.execute(
                text(f"SELECT changed_by, created_at FROM {self._table} WHERE version = :v"),
                {"v": self.version},
            )
        ).first()
        return Stored(row[0], row[1]) if row else Stored(None, None)

    async def follow(
        self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, interval_s: float
    ) -> None:
        """Pick up versions stored by other replicas within ``interval_s``."""
        while not stop.is_set():
            try:
                async with sessions() as session, session.begin():
                    await self.refresh(session)
            except Exception as error:  # noqa: BLE001 - a database outage: try again next time
                log.warning("config refresh failed", table=self._table, error=repr(error))
            await wait_or_stop(stop, interval_s)

    def follower(
        self, sessions: async_sessionmaker[AsyncSession], interval_s: float
    ) -> ConfigFollower[M]:
        """A loop (``run(stop)``) that keeps this store on the newest stored version."""
        return ConfigFollower(self, sessions, interval_s)

    async def _fall_back(self, session: AsyncSession) -> None:
        rows = await session.execute(
            text(f"SELECT version, config FROM {self._table} ORDER BY version DESC LIMIT 100")
        )
        for version, raw in rows.all():
            try:
                self.current, self.version = self.validated(dict(raw)), int(version)
                return
            except InvalidInput:
                continue

    async def _latest(self, session: AsyncSession) -> tuple[int, dict[str, Any]] | None:
        row = (
            await session.execute(
                text(f"SELECT version, config FROM {self._table} ORDER BY version DESC LIMIT 1")
            )
        ).first()
        return (int(row[0]), dict(row[1])) if row else None

    async def _insert(
        self, session: AsyncSession, version: int, config: dict[str, Any], changed_by: str
    ) -> bool:
        result = await session.execute(
            text(
                f"INSERT INTO {self._table} (version, config, changed_by)"
                " VALUES (:v, CAST(:c AS jsonb), :by) ON CONFLICT DO NOTHING RETURNING version"
            ),
            {"v": version, "c": orjson.dumps(config).decode(), "by": changed_by[:200]},
        )
        return result.first() is not None


class ConfigFollower(Generic[M]):
    """Runs :meth:`VersionedConfig.follow` as one of a service's loops."""

    def __init__(
        self,
        store: VersionedConfig[M],
        sessions: async_sessionmaker[AsyncSession],
        interval_s: float,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._interval_s = interval_s

    async def run(self, stop: asyncio.Event) -> None:
        await self._store.follow(self._sessions, stop, self._interval_s)
