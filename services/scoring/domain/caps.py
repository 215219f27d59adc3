"""Per-account state has a ceiling: features, open tickets, overdue invoices. Pure.

A producer with a write token could otherwise grow one account without bound
(a new feature name, ticket id or invoice id per event), and every re-score of
that account loads all of it. Each re-score loads an account's rows of these
tables; the rows over a cap are evicted, deterministically (the most recent
kept: the same stored rows give the same state whatever the arrival order), and
the state is built from the rest. An account under its caps is untouched: its
rows, and so its score, are exactly what they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]  # asyncpg records, read by column name
Rows = dict[str, list[Any]]  # per account


@dataclass(frozen=True)
class StateCaps:
    features: int = 1000
    open_tickets: int = 1000
    overdue_invoices: int = 1000


@dataclass
class Evicted:
    """Keys (account id, row id) per table, over its account's cap."""

    features: list[tuple[str, str]] = field(default_factory=list)
    tickets: list[tuple[str, str]] = field(default_factory=list)
    invoices: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Evicted rows by kind (the label values of ``state_evicted_total``)."""
        return {
            "feature": len(self.features),
            "open_ticket": len(self.tickets),
            "overdue_invoice": len(self.invoices),
        }

    def accounts(self) -> list[str]:
        return sorted({a for keys in (self.features, self.tickets, self.invoices) for a, _ in keys})


def cap_related(related: dict[str, Rows], caps: StateCaps) -> Evicted:
    """Drop from ``related`` (in place) the rows over each account's caps; what was dropped."""
    evicted = Evicted()
    evicted.features = _cap(
        related["features"], caps.features, _always, _newest("last_used_at", "feature"), "feature"
    )
    evicted.tickets = _cap(
        related["tickets"],
        caps.open_tickets,
        _open,
        _newest("updated_at", "ticket_id"),
        "ticket_id",
    )
    evicted.invoices = _cap(
        related["invoices"], caps.overdue_invoices, _overdue, _overdue_order, "invoice_id"
    )
    return evicted


def _cap(
    by_account: Rows,
    cap: int,
    counted: Callable[[Row], bool],
    order: Callable[[Row], Any],
    key: str,
) -> list[tuple[str, str]]:
    evicted: list[tuple[str, str]] = []
    for account_id, rows in by_account.items():
        if len(rows) <= cap:  # the common case: no row is even looked at
            continue
        capped = [r for r in rows if counted(r)]
        if len(capped) <= cap:
            continue
        dropped = {r[key] for r in sorted(capped, key=order)[cap:]}
        by_account[account_id] = [r for r in rows if not (counted(r) and r[key] in dropped)]
        evicted.extend((account_id, k) for k in sorted(dropped))
    return evicted


def _always(_row: Row) -> bool:
    return True


def _open(row: Row) -> bool:
    return bool(row["status"] == "open")


def _overdue(row: Row) -> bool:
    return bool(row["status"] in ("overdue", "failed"))


def _newest(at: str, key: str) -> Callable[[Row], Any]:
    """The most recent first, ties by id: a total order, so the kept rows never depend on
    the order rows were read in."""
    return lambda row: (-row[at].timestamp(), row[key])


def _overdue_order(row: Row) -> Any:
    at = row["overdue_at"] or row["due_at"] or row["updated_at"]
    return (-at.timestamp(), row["invoice_id"])


def keys_of(rows: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(account ids, row ids) as two arrays, for a set-based statement."""
    pairs: Sequence[tuple[str, str]] = list(rows)
    return [a for a, _ in pairs], [k for _, k in pairs]
