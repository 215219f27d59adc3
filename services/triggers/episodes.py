"""Episodes: a playbook fires once when its condition starts, resolves when it clears.

Ids are deterministic (uuid5 of what opened the episode), so the same input
replayed gives the same episode and event ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.triggers.rules import Condition

NAMESPACE = uuid.UUID("2b5f6f7e-9a3c-4f4e-8d21-6c0b1f0d7a55")


@dataclass(frozen=True)
class Episode:
    episode_id: str
    playbook: str
    opened_at: datetime
    due_by: datetime | None
    reason: str


@dataclass(frozen=True)
class Transition:
    kind: str  # triggered | resolved
    playbook: str
    episode_id: str
    event_id: str
    at: datetime
    due_by: datetime | None
    reason: str


def episode_id(account_id: str, playbook: str, opened_at: datetime) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{account_id}|{playbook}|{opened_at.isoformat()}"))


def event_id(episode: str, kind: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{episode}|{kind}"))


def transitions(
    account_id: str,
    conditions: Mapping[str, Condition],
    open_episodes: Mapping[str, Episode],
    at: datetime,
) -> list[Transition]:
    """Open an episode for each new condition, resolve each open one whose condition cleared."""
    out: list[Transition] = []
    for playbook, condition in sorted(conditions.items()):
        current = open_episodes.get(playbook)
        if condition.active and current is None:
            eid = episode_id(account_id, playbook, at)
            out.append(
                Transition(
                    "triggered",
                    playbook,
                    eid,
                    event_id(eid, "triggered"),
                    at,
                    condition.due_by,
                    condition.reason,
                )
            )
        elif not condition.active and current is not None:
            out.append(
                Transition(
                    "resolved",
                    playbook,
                    current.episode_id,
                    event_id(current.episode_id, "resolved"),
                    at,
                    None,
                    f"Cleared: {current.reason}",
                )
            )
    return out
