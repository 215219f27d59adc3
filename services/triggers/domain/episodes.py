"""Episodes: a playbook fires once when its condition starts, resolves when it clears.

Per account and playbook a ``Track`` keeps the rule's bookkeeping in event time:
since when the condition has held (``condition_since``), whether an episode is
open in the state machine (``opened_at``) and when the last one resolved. The
state machine runs the same whatever is emitted:

- an episode opens once the condition has held for the playbook's dwell and the
  cool-down after the last resolve has passed; once holding, the condition must
  be off for the playbook's exit dwell before it clears (a flicker does not);
- it is *emitted* only when the evaluation time is within the horizon of the wall
  clock (``emit``); otherwise it is held back, and the first evaluation within
  the horizon (a newer health change, or a clock pass) emits it if it still holds;
- a resolve is always emitted when an emitted episode is open: a task opened
  downstream must be closable, even by a change read late.

A held-back episode is still recorded (``Step.held``, with the id it would have),
so it can be listed as held back; emitted later, it keeps that id. A person or a
tool may acknowledge, snooze or close an emitted episode (``lifecycle.py``); that
does not move the track: a closed episode stays the open one here until its
condition clears, so it does not reopen while the condition holds; except that a
playbook with a cool-down opens a new episode if its condition still holds a
cool-down after the close (the closed one is then ``superseded``, not resolved).

A health change that corrects the one before at the same time (a greater
revision at the same ``as_of``) replaces its effect on the tracks: each track
keeps what it was before the evaluation that last changed it (``before``, at
``stepped_at``), and an evaluation at that same time starts from there. A
resolve (and its cool-down) that a correction undoes does not stand.

So a replay of history ends with exactly the episodes that hold at its end, each
emitted once. Ids are deterministic: the episode id derives from when its
condition started holding (an event time, or a date from the facts), never from
when a clock happened to run, so the same input replayed gives the same ids (and
from the previous resolve, where a correction reopened one at the same time).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.triggers.domain.playbooks import Condition

NAMESPACE = uuid.UUID("2b5f6f7e-9a3c-4f4e-8d21-6c0b1f0d7a55")


@dataclass(frozen=True)
class Episode:
    episode_id: str
    playbook: str
    opened_at: datetime
    due_by: datetime | None
    reason: str
    closed_at: datetime | None = None  # closed by a person or a tool (lifecycle.py)


@dataclass(frozen=True)
class Track:
    """One account's bookkeeping for one playbook, kept whether or not anything was emitted."""

    condition_since: datetime | None = None  # holding (entered, not exited) since
    opened_at: datetime | None = None  # the state machine's episode opened (emitted or held)
    last_resolved_at: datetime | None = None
    clearing_since: datetime | None = None  # holding, but off since then (exit dwell)
    stepped_at: datetime | None = None  # the evaluation time that last changed it
    before: Track | None = None  # what it was before that evaluation (None: no track)

    def core(self) -> Track:
        """The bookkeeping alone, without what it replaced."""
        return Track(
            self.condition_since, self.opened_at, self.last_resolved_at, self.clearing_since
        )


def as_before(track: Track, at: datetime) -> Track:
    """Where an evaluation at ``at`` starts: a correction at the time of the last change
    starts where that change started, so the state it corrects leaves no trace."""
    if track.stepped_at is not None and track.stepped_at == at:
        return track.before or Track()
    return track.core()


@dataclass(frozen=True)
class Gate:
    """When an episode may open (after ``dwell`` of holding, ``cooldown`` after a resolve)
    and when a holding condition clears (after ``exit_dwell`` off)."""

    dwell: timedelta = timedelta(0)
    cooldown: timedelta = timedelta(0)
    exit_dwell: timedelta = timedelta(0)

    def allows(self, track: Track, since: datetime, at: datetime) -> bool:
        if at < since + self.dwell:
            return False
        last = track.last_resolved_at
        return last is None or at >= last + self.cooldown


@dataclass(frozen=True)
class Transition:
    kind: str  # triggered | resolved | superseded, held_back (never published)
    playbook: str
    episode_id: str
    event_id: str
    at: datetime
    due_by: datetime | None
    reason: str


@dataclass
class Step:
    """What one evaluation decided: the tracks after it, what to emit, what was held back."""

    tracks: dict[str, Track] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    held: list[Transition] = field(default_factory=list)  # the held-back episodes


def episode_id(
    account_id: str, playbook: str, since: datetime, after: datetime | None = None
) -> str:
    """``after``: the previous episode's resolve, when it was not before ``since``: a
    correction at one time can resolve an episode and reopen it with the same ``since``,
    and the second is an episode of its own."""
    key = f"{account_id}|{playbook}|{since.isoformat()}"
    if after is not None and after >= since:
        key += f"|after {after.isoformat()}"
    return str(uuid.uuid5(NAMESPACE, key))


def event_id(episode: str, kind: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{episode}|{kind}"))


def track_of(tracks: Mapping[str, Track], episodes: Mapping[str, Episode], playbook: str) -> Track:
    """The stored track, or one read off an open episode stored before tracks existed."""
    if playbook in tracks:
        return tracks[playbook]
    open_episode = episodes.get(playbook)
    if open_episode is None:
        return Track()
    return Track(open_episode.opened_at, open_episode.opened_at)


def advance(
    account_id: str,
    conditions: Mapping[str, Condition],
    open_episodes: Mapping[str, Episode],
    tracks: Mapping[str, Track],
    at: datetime,
    *,
    gates: Mapping[str, Gate],
    emit: bool,
    default_since: datetime,
) -> Step:
    """Move every playbook's track to ``at``; emit what opens or clears (see the module doc)."""
    step = Step()
    for playbook, condition in sorted(conditions.items()):
        stored = track_of(tracks, open_episodes, playbook)
        track = as_before(stored, at)
        current = open_episodes.get(playbook)
        gate = gates.get(playbook, Gate())
        new, holding = _next(track, condition, at, gate, default_since, current is not None)
        since = new.condition_since
        if since is None and current is not None:
            step.transitions.append(_resolved(playbook, current, at))
        elif since is not None and current is not None and emit and _renags(current, gate, at):
            step.transitions.append(_superseded(playbook, current, at))
            after = max(current.closed_at or at, since)  # a new id per close
            eid = episode_id(account_id, playbook, since, after)
            step.transitions.append(_triggered(eid, playbook, at, holding))
        elif since is not None and new.opened_at is not None and current is None:
            if emit:
                # after the stored resolve: one a correction undid may have been emitted
                eid = episode_id(account_id, playbook, since, stored.last_resolved_at)
                step.transitions.append(_triggered(eid, playbook, at, holding))
            elif track.opened_at is None:
                step.held_back.append(playbook)
                eid = episode_id(account_id, playbook, since, stored.last_resolved_at)
                held = _triggered(eid, playbook, at, holding)
                step.held.append(replace(held, kind="held_back"))
        if new != track or stored.stepped_at == at:
            new = replace(new, stepped_at=at, before=track)
        else:
            new = stored
        if new != tracks.get(playbook, Track()):
            step.tracks[playbook] = new
    return step


def _next(
    track: Track,
    condition: Condition,
    at: datetime,
    gate: Gate,
    default_since: datetime,
    emitted: bool,
) -> tuple[Track, Condition]:
    """The track after ``condition`` at ``at``, and what an episode opening now would say."""
    held = track.condition_since
    if condition.active:
        since = held or min(condition.since or default_since, at)
        return _hold(track, since, at, gate), condition
    if held is not None and at < (track.clearing_since or at) + gate.exit_dwell:
        # off, not for long: still holding, as it would be live (a held-back episode opens)
        clearing = replace(track, clearing_since=track.clearing_since or at)
        return clearing, Condition(True, f"Holding since {held.date().isoformat()}")
    was_open = track.opened_at is not None or emitted
    return Track(last_resolved_at=at if was_open else track.last_resolved_at), condition


def _hold(track: Track, since: datetime, at: datetime, gate: Gate) -> Track:
    opened = track.opened_at
    if opened is None and gate.allows(track, since, at):
        opened = at
    return Track(since, opened, track.last_resolved_at)  # holding again: not clearing


def _renags(current: Episode, gate: Gate, at: datetime) -> bool:
    """Closed by hand while holding: a playbook with a cool-down opens anew after it."""
    closed = current.closed_at
    return closed is not None and gate.cooldown > timedelta(0) and at >= closed + gate.cooldown


def _superseded(playbook: str, current: Episode, at: datetime) -> Transition:
    return Transition(
        "superseded",
        playbook,
        current.episode_id,
        event_id(current.episode_id, "superseded"),
        at,
        None,
        f"Closed, still holding a cool-down later: {current.reason}",
    )


def _triggered(eid: str, playbook: str, at: datetime, condition: Condition) -> Transition:
    return Transition(
        "triggered",
        playbook,
        eid,
        event_id(eid, "triggered"),
        at,
        condition.due_by,
        condition.reason,
    )


def _resolved(playbook: str, current: Episode, at: datetime) -> Transition:
    return Transition(
        "resolved",
        playbook,
        current.episode_id,
        event_id(current.episode_id, "resolved"),
        at,
        None,
        f"Cleared: {current.reason}",
    )
