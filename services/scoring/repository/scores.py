"""Storing scores and their history; the queries behind the scoring API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database.engine import unnest


@dataclass(frozen=True)
class ScoreRow:
    account_id: str
    as_of: datetime
    score: float
    band: str
    segment: str
    components: dict[str, float | None]
    reasons: list[str]
    coverage: float
    model_version: str
    event_id: str  # the published change's id; empty when nothing was published
    changed: bool  # published as a health change (and kept in the history)
    revision: int = 0  # the account's last published change's revision (grows by one per change)
    facts: dict[str, Any] | None = None  # the facts published with this change, when new
    # when overrides applied (``services.scoring.domain.overrides``): the model's own score and
    # band (``score``/``band`` are the published ones) and the overrides, else None
    model_score: float | None = None
    model_band: str | None = None
    model_components: dict[str, float | None] | None = None
    overrides: list[dict[str, Any]] | None = None


async def store_scores(session: AsyncSession, rows: Sequence[ScoreRow]) -> None:
    """Current score of every row's account (and the facts published, when new: one
    update of each row); history rows for the published changes."""
    if not rows:
        return
    scores, params = unnest(
        **_columns(
            rows, "a", "s", "b", "seg", "c", "r", "cov", "m", "t", "rev", "f", "ms", "mb", "o"
        )
    )
    await session.execute(
        text(
            "UPDATE accounts a SET score = u.score, band = u.band, segment = u.segment,"
            " components = u.components, reasons = u.reasons, coverage = u.coverage,"
            " model_version = u.model_version, scored_as_of = u.as_of,"
            " health_revision = u.revision, updated_at = now(),"
            " published_facts = COALESCE(u.facts, a.published_facts),"
            " model_score = u.model_score, model_band = u.model_band, overrides = u.overrides"
            f" FROM {scores}"
            " AS u(account_id, score, band, segment, components, reasons, coverage,"
            " model_version, as_of, revision, facts, model_score, model_band, overrides)"
            " WHERE a.account_id = u.account_id"
        ),
        params,
    )
    changed = [row for row in rows if row.changed]
    if changed:
        history, params = unnest(
            **_columns(
                changed, "a", "s", "b", "c", "r", "cov", "m", "t", "e", "seg", "ms", "mb", "mc", "o"
            )
        )
        await session.execute(
            text(
                "INSERT INTO score_history (account_id, score, band, components, reasons,"
                " coverage, model_version, as_of, event_id, segment, model_score, model_band,"
                " model_components, overrides)"
                f" SELECT * FROM {history}"
            ),
            params,
        )


# every column the statements above write: name -> (element type, the value of a row)
SCORE_COLUMNS: dict[str, tuple[str, Callable[[ScoreRow], Any]]] = {
    "a": ("text", lambda r: r.account_id),
    "s": ("float8", lambda r: r.score),
    "b": ("text", lambda r: r.band),
    "seg": ("text", lambda r: r.segment),
    "c": ("jsonb", lambda r: orjson.dumps(r.components).decode()),
    "r": ("jsonb", lambda r: orjson.dumps(r.reasons).decode()),
    "cov": ("float8", lambda r: r.coverage),
    "m": ("text", lambda r: r.model_version),
    "t": ("timestamptz", lambda r: r.as_of),
    "rev": ("int8", lambda r: r.revision),
    "f": ("jsonb", lambda r: _json(r.facts)),
    "e": ("text", lambda r: r.event_id),
    "ms": ("float8", lambda r: r.model_score),
    "mb": ("text", lambda r: r.model_band),
    "mc": ("jsonb", lambda r: _json(r.model_components)),
    "o": ("jsonb", lambda r: _json(r.overrides)),
}


def _columns(rows: Sequence[ScoreRow], *names: str) -> dict[str, tuple[str, list[Any]]]:
    """The named ``unnest`` columns of the rows, in the order named."""
    return {
        name: (SCORE_COLUMNS[name][0], [SCORE_COLUMNS[name][1](row) for row in rows])
        for name in names
    }


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


async def account_health(session: AsyncSession, account_id: str) -> Row[Any] | None:
    result = await session.execute(
        text(
            "SELECT account_id, score, band, segment, components, reasons, coverage,"
            " model_version, scored_as_of, updated_at, arr, seats, renewal_at,"
            " COALESCE(model_score, score) AS model_score, COALESCE(model_band, band)"
            " AS model_band, overrides FROM accounts WHERE account_id = :id"
        ),
        {"id": account_id},
    )
    return result.first()


async def health_history(
    session: AsyncSession, account_id: str, since: datetime | None, limit: int
) -> list[Row[Any]]:
    result = await session.execute(
        text(
            "SELECT as_of, score, band, components, reasons, coverage, model_version, event_id,"
            " COALESCE(model_score, score) AS model_score, COALESCE(model_band, band)"
            " AS model_band FROM score_history WHERE account_id = :id"
            " AND (CAST(:since AS timestamptz) IS NULL OR as_of >= :since)"
            " ORDER BY seq LIMIT :limit"
        ),
        {"id": account_id, "since": since, "limit": limit},
    )
    return list(result.all())


SORTS = {
    "account_id": ("account_id", "account_id"),
    "score": ("score", "score"),
    "-score": ("score", "score DESC"),
}


async def list_accounts(
    session: AsyncSession,
    *,
    band: str | None,
    segment: str | None,
    sort: str,
    limit: int,
    cursor: tuple[Any, str] | None,
) -> list[Row[Any]]:
    """A page of scored accounts; keyset pagination on (sort key, account_id)."""
    column, order = SORTS[sort]
    descending = order.endswith("DESC")
    after = ""
    if cursor is not None:
        op = "<" if descending else ">"
        after = (
            f" AND ({column}, account_id) {op} (:cursor_key, :cursor_id)"
            if column != "account_id"
            else " AND account_id > :cursor_id"
        )
    id_order = "account_id DESC" if descending else "account_id"
    order_by = f"{order}, {id_order}" if column != "account_id" else "account_id"
    # only the filters asked for, each list its own statement: a prepared statement's
    # generic plan for "(:band IS NULL OR band = :band)" cannot pick the band's index,
    # and read 932,000 rows (6 s) for the red accounts by score at a million
    filters = "".join(
        f" AND {name} = :{name}" for name, value in (("band", band), ("segment", segment)) if value
    )
    sql = (
        "SELECT account_id, score, band, segment, coverage, scored_as_of FROM accounts"
        f" WHERE score IS NOT NULL{filters}{after} ORDER BY {order_by} LIMIT :limit"
    )
    params: dict[str, Any] = {"limit": limit}
    params |= {name: value for name, value in (("band", band), ("segment", segment)) if value}
    if cursor is not None:
        params["cursor_key"], params["cursor_id"] = cursor
    return list((await session.execute(text(sql), params)).all())


async def band_counts(session: AsyncSession) -> list[Row[Any]]:
    result = await session.execute(
        text(
            "SELECT band, segment, count(*) AS n FROM accounts"
            " WHERE band IS NOT NULL GROUP BY band, segment"
        )
    )
    return list(result.all())
