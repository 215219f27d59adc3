"""What each account of a labelled population should show at the end of its history. Pure.

Three-valued: ``True`` (the account must get the playbook), ``False`` (an episode
for it is a false alarm), and absent (either is acceptable: the cohort does not
decide it, e.g. a declining account may or may not be red yet). Precision and
recall only count accounts with a definite answer.

Derived from the cohorts, the start and the renewal dates of
``bench.workload`` with DESIGN.md's playbook table at the workload's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from bench.workload import Account, Workload

# cohorts whose behaviour does not change over the window: a playbook that opens
# more than once for them is flapping
STEADY_COHORTS = ("healthy", "expanding")
EXPECTED_BAND = {"healthy": "green", "churning": "red", "expanding": "green"}
ONBOARDING_DAYS = 30
RENEWAL_WINDOW_DAYS = {"enterprise": 180}
DEFAULT_RENEWAL_WINDOW_DAYS = 90

Labels = dict[str, bool]  # account_id -> should it hold the playbook (absent: either)


@dataclass(frozen=True)
class Truth:
    cohort: dict[str, str]
    # playbook -> labels for "an episode was opened at some point"
    ever: dict[str, Labels] = field(default_factory=dict)
    # playbook -> labels for "an episode is open at the end"
    at_end: dict[str, Labels] = field(default_factory=dict)


def provisional_truth(workload: Workload) -> Truth:
    """Ground truth from cohorts and dates (until ``bench.workload`` carries its own)."""
    ever: dict[str, Labels] = {}
    at_end: dict[str, Labels] = {}
    for a in workload.accounts:
        for playbook, label in _labels(a, workload.end).items():
            ever.setdefault(playbook, {})
            at_end.setdefault(playbook, {})
            if label is not None:
                ever[playbook][a.account_id] = label
                # onboarding closes at first value: at the end it may hold or not
                if playbook != "onboarding" or not label:
                    at_end[playbook][a.account_id] = label
    return Truth({a.account_id: a.cohort for a in workload.accounts}, ever, at_end)


def _labels(a: Account, end: datetime) -> dict[str, bool | None]:
    c = a.cohort
    return {
        "at_risk": True if c == "churning" else None if c == "declining" else False,
        "renewal": _renewal_due(a, end),
        "onboarding": end - a.started_at < timedelta(days=ONBOARDING_DAYS),
        "expansion": True if c == "expanding" else None if c == "onboarding" else False,
        "score_drop": False if c in STEADY_COHORTS else None,
        "adoption": False if c in STEADY_COHORTS else None,
    }


def _renewal_due(a: Account, end: datetime) -> bool:
    renews = datetime.combine(a.renewal_at, time(), tzinfo=UTC)
    window = RENEWAL_WINDOW_DAYS.get(a.segment, DEFAULT_RENEWAL_WINDOW_DAYS)
    return end <= renews <= end + timedelta(days=window)
