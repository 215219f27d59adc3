"""The ground truth an evaluation compares with, from ``Workload.expected_playbooks``. Pure.

Labels are three-valued: ``True`` (the account must get the playbook), ``False``
(an episode for it is a false alarm), absent (the cohort does not decide: a
declining account may or may not be red yet). Precision and recall count only the
accounts with a definite label.

The same labels judge both views. For episodes open at the end that is what they
say. For every episode opened along the way it holds too: the population's
renewal and start dates lie in the history's future or recent past, so a playbook
that is false at the end was never true earlier (a renewal that is not yet due at
the end was not due before it), and a true one must have opened at some point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.workload import STEADY_COHORTS, Workload

EXPECTED_BAND = {"healthy": "green", "churning": "red", "expanding": "green"}
__all__ = ["EXPECTED_BAND", "STEADY_COHORTS", "Labels", "Truth", "truth_of"]

Labels = dict[str, bool]  # account_id -> should it hold the playbook (absent: either)


@dataclass(frozen=True)
class Truth:
    cohort: dict[str, str]
    # playbook -> labels
    labels: dict[str, Labels] = field(default_factory=dict)
    segment: dict[str, str] = field(default_factory=dict)  # by ARR, as the default cuts it
    region: dict[str, str] = field(default_factory=dict)  # the subscription's extra field


def truth_of(workload: Workload) -> Truth:
    labels: dict[str, Labels] = {}
    for account_id, by_playbook in workload.expected_playbooks().items():
        for playbook, label in by_playbook.items():
            if label is not None:
                labels.setdefault(playbook, {})[account_id] = label
    return Truth(
        {a.account_id: a.cohort for a in workload.accounts},
        labels,
        {a.account_id: a.segment for a in workload.accounts},
        {a.account_id: a.region for a in workload.accounts},
    )
