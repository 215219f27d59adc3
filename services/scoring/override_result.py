"""A scored row with its overrides: what is stored beside it, and whether it is news.

A change of the overrides in force (one applied, removed or expired) is published even
when the score moved less than the step, with an id of its own, and carries the model's
score and band beside the overridden ones. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.scoring.domain.account_state import AccountRow
from services.scoring.domain.health_change import health_change_id
from services.scoring.domain.model import Health
from services.scoring.domain.overrides import (
    Override,
    override_change_id,
    override_ids,
    override_summary,
)
from services.scoring.repository.scores import ScoreRow


def previous_ids(stored: Sequence[dict[str, Any]] | None) -> list[str]:
    """The ids of the overrides the account's last score applied (``accounts.overrides``)."""
    return sorted(str(o["override_id"]) for o in stored or [])


def with_overrides(
    row: ScoreRow, account: AccountRow, model: Health, applied: Sequence[Override]
) -> tuple[ScoreRow, dict[str, Any]]:
    """``row`` with the model's score and the overrides stored, and the fields the health
    change carries for them (none when no override is or was in force)."""
    ids, before = override_ids(applied), previous_ids(account.overrides)
    if not ids and not before:
        return row, {}
    changed = row.changed or ids != before
    revision = account.health_revision + int(changed)
    event_id = ""
    if changed:
        plain = health_change_id(account.account_id, row.as_of, row.score, row.band)
        event_id = override_change_id(plain, ids, revision)
    summaries = [override_summary(o) for o in applied]
    row = replace(
        row,
        changed=changed,
        revision=revision,
        event_id=event_id,
        model_score=model.score if ids else None,
        model_band=model.band if ids else None,
        model_components=model.components if ids else None,
        overrides=summaries if ids else None,
    )
    return row, {"model_score": model.score, "model_band": model.band, "overrides": summaries}
