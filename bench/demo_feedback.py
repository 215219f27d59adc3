"""`make demo`: a CSM team works the playbook queue, and Vigil reports what they said.

The team closes a sample of the episodes (acknowledged first), judging each
against what the account really is (its cohort in the workload's ground truth):
an alarm about an account that is in that situation is mostly ``actioned``,
sometimes ``not_useful``; one about an account that is not is mostly a
``false_alarm``. The feedback table, precision with its interval, is then read
from the API and printed beside the score's AUC.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import httpx
from rich.console import Console

from services.triggers.domain.feedback import lines, of_data

# the cohorts in which each playbook's alarm is true; None: true for every account
TRUE_FOR: dict[str, frozenset[str] | None] = {
    "at_risk": frozenset({"churning", "declining"}),
    "score_drop": frozenset({"churning", "declining"}),
    "adoption": frozenset({"churning", "declining"}),
    "expansion": frozenset({"expanding"}),
    "onboarding_stalled": frozenset({"onboarding"}),
    "onboarding": None,
    "renewal": None,
}
SHARE_CLOSED = 0.7


def resolution_for(playbook: str, cohort: str | None, rng: random.Random) -> str:
    """What a CSM who knows the account says of its alarm."""
    true_for = TRUE_FOR.get(playbook)
    draw = rng.random()
    if true_for is None or cohort in true_for:
        # a CSM knows what the events do not (a verbal renewal, a champion who left):
        # some true alarms are judged not useful, a few false
        return "actioned" if draw < 0.78 else "not_useful" if draw < 0.92 else "false_alarm"
    return "false_alarm" if draw < 0.75 else "not_useful"


async def _episodes(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{url}/v1/playbooks/episodes", params=params)
        response.raise_for_status()
        page = response.json()
        found += [e for e in page["items"] if e["status"] not in ("held_back", "closed")]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def work_the_queue(
    client: httpx.AsyncClient, url: str, truth: Mapping[str, Mapping[str, Any]], seed: int
) -> int:
    """Acknowledge and close a sample of the episodes; returns how many were closed."""
    rng = random.Random(seed)
    closed = 0
    for episode in await _episodes(client, url):
        if rng.random() > SHARE_CLOSED:
            continue
        path = f"{url}/v1/playbooks/episodes/{episode['episode_id']}"
        if episode["status"] == "open":
            (await client.post(f"{path}/acknowledge", json={})).raise_for_status()
        cohort = truth.get(episode["account_id"], {}).get("cohort")
        resolution = resolution_for(episode["playbook"], cohort, rng)
        note = f"demo CSM: account is {cohort}"
        body = {"resolution": resolution, "note": note}
        (await client.post(f"{path}/close", json=body)).raise_for_status()
        closed += 1
    return closed


async def feedback(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    response = await client.get(f"{url}/v1/playbooks/feedback")
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def print_feedback(items: list[dict[str, Any]], closed: int, console: Console) -> None:
    """The table ``vigil calibrate`` prints, from the API's answer, rows with a judgement."""
    console.print(
        f"[bold]playbook feedback[/]: what the demo's CSM team said when it closed"
        f" {closed} alarms (GET /v1/playbooks/feedback)"
    )
    judged = [item for item in items if item["judged"]]
    for line in lines(of_data(judged)):  # a table's line is never wrapped
        console.print(line, highlight=False, markup=False, soft_wrap=True)
