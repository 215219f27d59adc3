"""What a candidate scorecard would change: band moves by segment. Pure.

``BandDiff`` is fed one account at a time and keeps only counts and a few
sample ids per move, so a million accounts cost the same memory as a hundred.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

BANDS = ("green", "yellow", "red")


@dataclass
class BandDiff:
    """Counts of (segment, live band -> candidate band), with up to ``samples`` ids each."""

    samples: int = 5
    accounts: int = 0
    failed: int = 0  # accounts either scorecard raised on (isolated, not counted as moves)
    failed_ids: list[str] = field(default_factory=list)
    by_segment: dict[str, Counter[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    examples: dict[tuple[str, str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    segment_moves: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(
        self, account_id: str, segment: str, live: str, candidate: str, candidate_segment: str
    ) -> None:
        self.accounts += 1
        self.by_segment[segment][(live, candidate)] += 1
        if live != candidate:
            kept = self.examples[(segment, live, candidate)]
            if len(kept) < self.samples:
                kept.append(account_id)
        if candidate_segment != segment:
            self.segment_moves[(segment, candidate_segment)] += 1

    def fail(self, account_id: str) -> None:
        self.failed += 1
        if len(self.failed_ids) < self.samples:
            self.failed_ids.append(account_id)

    @property
    def changed(self) -> int:
        return sum(n for moves in self.by_segment.values() for (a, b), n in moves.items() if a != b)

    def as_data(self) -> dict[str, Any]:
        segments = {}
        for segment in sorted(self.by_segment):
            moves = self.by_segment[segment]
            segments[segment] = {
                "accounts": sum(moves.values()),
                "changed": sum(n for (a, b), n in moves.items() if a != b),
                "moves": [
                    {
                        "from": a,
                        "to": b,
                        "accounts": n,
                        "sample": self.examples[(segment, a, b)],
                    }
                    for (a, b), n in sorted(moves.items(), key=_move_order)
                    if a != b
                ],
            }
        return {
            "accounts": self.accounts,
            "changed_band": self.changed,
            "failed": self.failed,
            "failed_sample": self.failed_ids,
            "segments": segments,
            "segment_moves": [
                {"from": a, "to": b, "accounts": n}
                for (a, b), n in sorted(self.segment_moves.items())
            ],
        }


def _move_order(item: tuple[tuple[str, str], int]) -> tuple[int, int]:
    (a, b), _n = item
    return BANDS.index(a) if a in BANDS else 9, BANDS.index(b) if b in BANDS else 9


def lines(diff: BandDiff, live_version: str, candidate_version: str) -> list[str]:
    """The diff as text: one line per segment, one per move with its sample ids."""
    out = [
        f"live {live_version} vs candidate {candidate_version}: {diff.changed} of"
        f" {diff.accounts} accounts change band"
    ]
    data = diff.as_data()
    for segment, part in data["segments"].items():
        out.append(f"  {segment:<12} {part['changed']:>7} of {part['accounts']:>7} change band")
        for move in part["moves"]:
            sample = ", ".join(move["sample"])
            out.append(
                f"    {move['from']:>6} -> {move['to']:<6} {move['accounts']:>7}  e.g. {sample}"
            )
    for move in data["segment_moves"]:
        out.append(f"  segment {move['from']} -> {move['to']}: {move['accounts']} accounts")
    if diff.failed:
        out.append(
            f"  {diff.failed} accounts could not be scored (isolated), e.g."
            f" {', '.join(diff.failed_ids)}"
        )
    return out
