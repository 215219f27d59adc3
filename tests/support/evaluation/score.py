"""What the pipeline concluded, measured against the ground truth, and the thresholds. Pure.

Two views of each playbook: the episodes *open at the end* (what the system holds)
and every episode *opened along the way* (what it emitted on ``playbook.events``:
an emitted episode that is not true is a false alarm a CSM acted on).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.support.evaluation.equivalence import Equivalence
from tests.support.evaluation.point_in_time import PointInTime
from tests.support.evaluation.segments import Segments
from tests.support.evaluation.truth import EXPECTED_BAND, STEADY_COHORTS, Labels, Truth
from tests.support.workload import CUSTOM_PLAYBOOK, REGIONAL_PLAYBOOK

BANDS = ("green", "yellow", "red")
# playbook: (minimum precision, minimum recall), from issue 11 "What it must show"
THRESHOLDS = {
    "at_risk": (0.95, 1.0),
    "renewal": (0.9, 1.0),
    "onboarding": (0.9, 1.0),
    "expansion": (0.9, 1.0),
    # the custom scorecard's playbooks: exactly the accounts whose integration broke,
    # of every segment and of the region's segments
    CUSTOM_PLAYBOOK: (1.0, 1.0),
    REGIONAL_PLAYBOOK: (1.0, 1.0),
}
FLAPPING = ("expansion", "score_drop")
# the built-in playbooks, shown in every run; a live scorecard's custom ones follow
SHOWN = (
    "at_risk",
    "renewal",
    "onboarding",
    "expansion",
    "score_drop",
    "adoption",
    "onboarding_stalled",
)


@dataclass(frozen=True)
class Emitted:
    """A ``triggered`` playbook event as read back from ``playbook.events``."""

    account_id: str
    playbook: str
    episode_id: str
    at: datetime  # the state's time the episode opened for
    received_at: datetime  # wall clock when it reached the topic
    reason: str = ""


@dataclass(frozen=True)
class Observed:
    bands: dict[str, str]
    open_at_end: dict[str, set[str]]  # playbook -> accounts
    emitted: list[Emitted]
    late_events: float | None = None
    webhooks_received: int = 0
    webhooks_verified: int = 0
    held_back: float | None = None  # episodes triggers kept silent as historical
    # model version on each account's stored score -> accounts
    scored_by: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    false_alarms: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Evaluation:
    order: str
    scorecard: str = ""  # which scorecard was live ("" when none was stored)
    bands: dict[str, Counter[str]] = field(default_factory=dict)  # cohort -> band -> n
    at_end: dict[str, Score] = field(default_factory=dict)
    ever: dict[str, Score] = field(default_factory=dict)
    per_account: dict[str, dict[str, tuple[float, int]]] = field(default_factory=dict)
    stale: list[Emitted] = field(default_factory=list)
    emitted: list[Emitted] = field(default_factory=list)  # kept to explain the failures
    final_bands: dict[str, str] = field(default_factory=dict)
    late_events: float | None = None
    held_back: float | None = None
    webhooks: tuple[int, int] = (0, 0)
    point_in_time: PointInTime | None = None
    equivalence: Equivalence | None = None  # the default scorecard against the model
    segments: Segments | None = None  # each account's last change against its truth
    live_version: str | None = None  # the live scorecard's compiled version
    scored_by: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


def evaluate(
    order: str,
    truth: Truth,
    seen: Observed,
    horizon: timedelta,
    point_in_time: PointInTime | None = None,
    equivalence: Equivalence | None = None,
    *,
    scorecard: str = "",
    custom_playbooks: Sequence[str] = (),
    segments: Segments | None = None,
    live_version: str | None = None,
) -> Evaluation:
    """``custom_playbooks``: those of the live scorecard, judged beside the built-in ones
    (a playbook no live scorecard declares is neither shown nor held to a threshold)."""
    result = Evaluation(order, scorecard, late_events=seen.late_events, held_back=seen.held_back)
    result.point_in_time, result.equivalence = point_in_time, equivalence
    result.segments = segments
    result.live_version, result.scored_by = live_version, seen.scored_by
    result.webhooks = (seen.webhooks_received, seen.webhooks_verified)
    result.emitted, result.final_bands = seen.emitted, seen.bands
    for account, cohort in truth.cohort.items():
        result.bands.setdefault(cohort, Counter())[seen.bands.get(account, "missing")] += 1
    opened: dict[str, set[str]] = defaultdict(set)
    episodes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in seen.emitted:
        opened[e.playbook].add(e.account_id)
        episodes[(e.account_id, e.playbook)].add(e.episode_id)
    for playbook in (*SHOWN, *custom_playbooks):
        result.at_end[playbook] = score(
            truth.labels.get(playbook, {}), seen.open_at_end.get(playbook, set())
        )
        result.ever[playbook] = score(truth.labels.get(playbook, {}), opened[playbook])
    result.per_account = _per_account(truth, episodes, (*SHOWN, *custom_playbooks))
    result.stale = [e for e in seen.emitted if e.received_at - e.at > horizon]
    result.checks = checks(result, horizon)
    return result


def suspects(result: Evaluation) -> list[str]:
    """Accounts behind a failed precision or recall threshold."""
    out: set[str] = set()
    for playbook in judged(result):
        for s in (result.at_end[playbook], result.ever[playbook]):
            out.update(s.false_alarms, s.missed)
    return sorted(out)


def score(labels: Labels, predicted: set[str]) -> Score:
    """Precision and recall of ``predicted`` over the accounts ``labels`` decides."""
    false_alarms = sorted(a for a in predicted if labels.get(a) is False)
    missed = sorted(a for a, truth in labels.items() if truth and a not in predicted)
    tp = sum(1 for a in predicted if labels.get(a) is True)
    return Score(tp, len(false_alarms), len(missed), tuple(false_alarms), tuple(missed))


def judged(result: Evaluation) -> list[str]:
    """The playbooks of ``result`` held to a threshold."""
    return [p for p in THRESHOLDS if p in result.at_end]


def _per_account(
    truth: Truth, episodes: dict[tuple[str, str], set[str]], shown: Sequence[str]
) -> dict[str, dict[str, tuple[float, int]]]:
    """cohort -> playbook -> (mean, max) episodes opened per account of the cohort."""
    out: dict[str, dict[str, tuple[float, int]]] = {}
    members: dict[str, list[str]] = defaultdict(list)
    for account, cohort in truth.cohort.items():
        members[cohort].append(account)
    for cohort, accounts in members.items():
        out[cohort] = {}
        for playbook in shown:
            counts = [len(episodes.get((a, playbook), ())) for a in accounts]
            out[cohort][playbook] = (sum(counts) / len(counts), max(counts))
    return out


def checks(result: Evaluation, horizon: timedelta) -> list[Check]:
    out = []
    for cohort in ("healthy", "churning"):
        counts = result.bands.get(cohort, Counter())
        right = counts[EXPECTED_BAND[cohort]]
        total = sum(counts.values())
        out.append(
            Check(f"{cohort} 100% {EXPECTED_BAND[cohort]}", right == total, f"{right}/{total}")
        )
    for playbook in judged(result):
        min_precision, min_recall = THRESHOLDS[playbook]
        for view, scores in (("at end", result.at_end), ("along the way", result.ever)):
            s = scores[playbook]
            ok = (s.precision is None or s.precision >= min_precision) and (
                s.recall is None or s.recall >= min_recall
            )
            detail = f"P {ratio(s.precision)} R {ratio(s.recall)}"
            if s.false_alarms:
                detail += f"; false: {', '.join(s.false_alarms[:6])}"
            if s.missed:
                detail += f"; missed: {', '.join(s.missed[:6])}"
            out.append(Check(f"{playbook} {view} P≥{min_precision} R≥{min_recall}", ok, detail))
    if result.point_in_time is not None:
        truth = result.point_in_time
        detail = truth.detail() + "".join(f"; {false}" for false in truth.false[:3])
        out.append(Check("point-in-time truth 100%", truth.ok, detail))
    if result.equivalence is not None:
        same = result.equivalence
        detail = same.detail() + "".join(f"; {d}" for d in same.different[:3])
        out.append(Check("default scorecard = model on every account", same.ok, detail))
    if result.segments is not None:
        seg = result.segments
        detail = seg.detail() + "".join(f"; {d}" for d in seg.different[:3])
        out.append(Check("segment of each account's last change as expected", seg.ok, detail))
    if result.live_version is not None:
        by = result.scored_by
        ok = set(by) == {result.live_version}  # and no score from the built-in model
        detail = ", ".join(f"{n} by {version}" for version, n in sorted(by.items()))
        out.append(Check("every account's score from the live scorecard", ok, detail))
    hours = horizon.total_seconds() / 3600
    out.append(
        Check(
            f"no episode for a state older than {hours:g} h",
            not result.stale,
            f"{len(result.stale)} episodes",
        )
    )
    for cohort in STEADY_COHORTS:
        worst = max(
            (result.per_account.get(cohort, {}).get(p, (0.0, 0))[1] for p in FLAPPING), default=0
        )
        out.append(
            Check(
                f"{cohort}: ≤ 1 expansion/score_drop episode per account",
                worst <= 1,
                f"max {worst}",
            )
        )
    return out


def by_live(result: Evaluation) -> str:
    """How many accounts' stored score the live scorecard made, of those scored."""
    if result.live_version is None:
        return "n/a"
    made = result.scored_by.get(result.live_version, 0)
    return f"{made}/{sum(result.scored_by.values())}"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
