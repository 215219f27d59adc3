"""The demo population's ground truth: what each playbook should show at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.workload import make_workload

END = datetime(2026, 3, 1, tzinfo=UTC)


def test_labels_follow_the_cohorts_and_the_dates() -> None:
    workload = make_workload(300, 90, seed=3, end=END)
    truth = workload.expected_playbooks()
    by_id = {a.account_id: a for a in workload.accounts}
    for account_id, labels in truth.items():
        a = by_id[account_id]
        assert labels["at_risk"] is {"churning": True, "declining": None}.get(a.cohort, False)
        assert labels["expansion"] is {"expanding": True, "onboarding": None}.get(a.cohort, False)
        assert labels["onboarding"] is (a.cohort == "onboarding")
    renewing = [a for a, labels in truth.items() if labels["renewal"]]
    # the population has renewals inside and outside the window, so recall means something
    assert 0 < len(renewing) < len(truth)
    for account_id in renewing:
        a = by_id[account_id]
        window = 180 if a.segment == "enterprise" else 90
        assert (a.renewal_at - END.date()).days <= window


def test_onboarding_is_true_only_inside_its_window() -> None:
    workload = make_workload(100, 90, seed=4, end=END)
    later = workload.expected_playbooks(END + timedelta(days=31))
    assert not any(labels["onboarding"] for labels in later.values())
