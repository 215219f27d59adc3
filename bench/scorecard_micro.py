"""Micro-benchmark: ``model.score`` against ``evaluate`` with the default scorecard.

Not a bench row (``make bench`` shows speed through the pipeline): a quick ratio
of the two pure functions on the same generated states, in one process.

    .venv/bin/python -m bench.scorecard_micro [--states 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from services.scoring.domain.account_state import AccountState, OpenTicket, OverdueInvoice, Response
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.evaluate import evaluate
from tests.unit.scoring.states import NOW, active_account


def states(n: int, seed: int = 7) -> list[AccountState]:
    rng = random.Random(seed)

    def ago(most: int) -> timedelta:
        return timedelta(days=rng.randint(0, most), hours=rng.randint(0, 23))

    out = []
    for _ in range(n):
        state = active_account(
            silent_days=rng.choice([0, 0, 0, 1, 3, 10, 20, 40]),
            users=rng.randint(0, 50),
            seats=rng.choice([None, rng.randint(1, 100)]),
            features=rng.randint(0, 15),
            daily_events=rng.randint(0, 500),
            arr=rng.randint(0, 300_000),
        )
        out.append(
            replace(
                state,
                open_tickets=tuple(
                    OpenTicket(rng.choice(["low", "normal", "high", "urgent"]), NOW - ago(60))
                    for _ in range(rng.randint(0, 4))
                ),
                responses=tuple(
                    Response("nps", rng.randint(0, 10), NOW - ago(120))
                    for _ in range(rng.randint(0, 3))
                ),
                payment_failures=tuple(NOW - ago(90) for _ in range(rng.randint(0, 2))),
                overdue_invoices=tuple(
                    OverdueInvoice("i", NOW - ago(40)) for _ in range(rng.randint(0, 1))
                ),
            )
        )
    return out


def best_of(repeat: int, *runs: Callable[[], object]) -> list[float]:
    """The best time of each run; runs alternate so that load on the machine hits both."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--states", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cfg = HealthModelConfig()
    card = compile_scorecard(scorecard_from_config(cfg))
    sample = states(args.states)
    mismatches = sum(1 for s in sample if score(s, NOW, cfg).score != evaluate(card, s, NOW).score)
    model_s, card_s = best_of(
        args.repeat,
        lambda: [score(s, NOW, cfg) for s in sample],
        lambda: [evaluate(card, s, NOW) for s in sample],
    )
    n = len(sample)
    print(f"states: {n}, score mismatches: {mismatches}")  # noqa: T201
    print(f"model.score: {model_s / n * 1e6:.1f} us/state ({n / model_s:,.0f}/s)")  # noqa: T201
    print(f"evaluate:    {card_s / n * 1e6:.1f} us/state ({n / card_s:,.0f}/s)")  # noqa: T201
    print(f"ratio evaluate/score: {card_s / model_s:.2f}x the time")  # noqa: T201


if __name__ == "__main__":
    main()
