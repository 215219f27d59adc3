"""An episode's lifecycle in the hands of a person or a tool. Pure.

The state machine in ``episodes.py`` opens an episode when its condition holds and
resolves it when the condition clears; it knows nothing of people. On top of it an
episode has a lifecycle status a CSM queue moves:

- ``open`` -> ``acknowledged`` (someone is on it); ``assign`` names an owner at any
  point before the close and leaves the status as it is;
- ``open`` or ``acknowledged`` -> ``snoozed`` until a time; the triggers clock puts
  it back to ``open`` when that time passes (``snooze_ended``);
- any of these, or resolved -> ``closed`` with a resolution (``actioned``,
  ``not_useful``, ``false_alarm``) and a note: final.

The status an API shows is ``closed`` once closed, else ``resolved`` once the
condition cleared, else the lifecycle's. A close does not end the machine's
episode: while its condition still holds no new episode opens for the playbook;
when it clears, the machine resolves it as any other (``playbook.resolved``) and
a new episode needs the condition to enter again after the playbook's cool-down.
A playbook with a cool-down also opens a new episode when the condition still
holds a cool-down after the close (``episodes.py``: the closed one is superseded).
``held_back`` episodes (the horizon kept them from being emitted) take no action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.errors import Conflict, InvalidInput

Action = Literal["acknowledge", "assign", "snooze", "close"]
Resolution = Literal["actioned", "not_useful", "false_alarm"]
RESOLUTIONS: tuple[Resolution, ...] = ("actioned", "not_useful", "false_alarm")
# the event kind (on ``playbook.events``) and history action each request records
KIND: dict[Action, str] = {
    "acknowledge": "acknowledged",
    "assign": "assigned",
    "snooze": "snoozed",
    "close": "closed",
}
# which shown statuses each action may start from
_ALLOWED: dict[Action, frozenset[str]] = {
    "acknowledge": frozenset({"open", "snoozed"}),
    "assign": frozenset({"open", "acknowledged", "snoozed", "resolved"}),
    "snooze": frozenset({"open", "acknowledged", "snoozed"}),
    "close": frozenset({"open", "acknowledged", "snoozed", "resolved"}),
}


@dataclass(frozen=True)
class Request:
    """One lifecycle request: the action and what it carries."""

    action: Action
    owner: str | None = None
    until: datetime | None = None
    resolution: Resolution | None = None
    note: str | None = None


@dataclass(frozen=True)
class Change:
    """What a request sets on the stored episode (``None``: left as it is)."""

    status: str  # the stored lifecycle status after it
    kind: str
    owner: str | None = None
    snoozed_until: datetime | None = None
    resolution: Resolution | None = None
    note: str | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None


def shown_status(stored: str, resolved_at: datetime | None) -> str:
    """The status the API shows (see the module doc)."""
    if stored in ("closed", "held_back"):
        return stored
    return "resolved" if resolved_at is not None else stored


def decide(stored: str, resolved_at: datetime | None, request: Request, at: datetime) -> Change:
    """The change ``request`` makes at ``at``; :class:`Conflict` if the status forbids it."""
    shown = shown_status(stored, resolved_at)
    if shown not in _ALLOWED[request.action]:
        raise Conflict(f"cannot {request.action} an episode that is {shown}")
    kind = KIND[request.action]
    if request.action == "acknowledge":
        return Change("acknowledged", kind, acknowledged_at=at)
    if request.action == "assign":
        return Change(stored, kind, owner=request.owner)
    if request.action == "snooze":
        if request.until is None or request.until.tzinfo is None:
            raise InvalidInput("until must be a time with a UTC offset")
        if request.until <= at:
            raise InvalidInput("until must be a time in the future")
        return Change("snoozed", kind, snoozed_until=request.until)
    return Change(
        "closed", kind, resolution=request.resolution, note=request.note or "", closed_at=at
    )
