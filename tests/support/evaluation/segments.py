"""The segment each account is scored in, against the one its truth gives. Pure.

Read from each account's last published health change (the segment is one of the
facts a change carries, so a change of segment alone is published too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Segments:
    """How many accounts' last published change names the segment expected of them."""

    population: int
    same: int = 0
    different: list[str] = field(default_factory=list)  # a few, described

    @property
    def ok(self) -> bool:
        return self.same == self.population

    def detail(self) -> str:
        return f"{self.same} of {self.population}"

    def as_json(self) -> dict[str, Any]:
        return {"same": self.same, "accounts": self.population, "different": self.different}


def last_segments(changes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Per account, the segment of its last published change (``changes`` in topic order:
    an account's changes share a partition)."""
    return {c["account_id"]: c["segment"] for c in changes if c.get("segment")}


def compare(published: Mapping[str, str], expected: Mapping[str, str]) -> Segments:
    result = Segments(len(expected))
    for account_id, segment in sorted(expected.items()):
        if published.get(account_id) == segment:
            result.same += 1
        elif len(result.different) < 10:
            result.different.append(
                f"{account_id}: {published.get(account_id) or 'no change'}, expected {segment}"
            )
    return result
