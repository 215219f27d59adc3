"""``vigil secrets rotate``: re-encrypt every stored webhook secret with the newest key.

``VIGIL_SECRETS_KEY`` lists Fernet keys, newest first; every one decrypts, the
first encrypts. Retiring a key: put a new key first on every triggers instance,
run this, then drop the old key. One transaction over every subscription (rows
locked), so it is all or nothing; a secret already under the newest key is left
as it is, so a second run changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.triggers.webhooks import repository as repo
from services.triggers.webhooks.secrets import SecretBox
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.settings.connections import PostgresTls

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Rotation:
    subscriptions: int
    resealed: int  # secrets re-encrypted with the newest key
    current: int  # secrets that were under the newest key already


def reseal_rows(rows: Sequence[Any], box: SecretBox) -> tuple[list[dict[str, Any]], Rotation]:
    """The rows to write back, and what was done; raises ValueError naming a bad row."""
    changed: list[dict[str, Any]] = []
    resealed = current = 0
    for row in rows:
        values = {"id": row.id, "secret": row.secret, "previous_secret": row.previous_secret}
        for column in ("secret", "previous_secret"):
            if values[column] is None:
                continue
            try:
                new = box.reseal(values[column])
            except ValueError as error:
                raise ValueError(f"subscription {row.id}, {column}: {error}") from None
            if new is None:
                current += 1
            else:
                values[column], resealed = new, resealed + 1
        if values["secret"] != row.secret or values["previous_secret"] != row.previous_secret:
            changed.append(values)
    return changed, Rotation(len(rows), resealed, current)


async def rotate_keys(database_url: str, keys: str, tls: PostgresTls | None = None) -> Rotation:
    box = SecretBox(keys)
    engine = create_engine(database_url, pool_size=1, tls=tls)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            changed, rotation = reseal_rows(await repo.stored_secrets(session), box)
            await repo.store_secrets(session, changed)
    finally:
        await engine.dispose()
    return rotation


def rotate(database_url: str, keys: str, echo: Echo, tls: PostgresTls | None = None) -> None:
    done = asyncio.run(rotate_keys(database_url, keys, tls))
    echo(
        f"secrets rotated: {done.resealed} re-encrypted with the newest key,"
        f" {done.current} already under it, {done.subscriptions} subscriptions"
    )
