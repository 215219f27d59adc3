"""Point-in-time truth: is every published health change what the model says at its time?

A published change is judged by the last revision at its ``as_of`` (a later
revision at the same time is a correction that replaces it). Its expected value
is the pure model (or the live scorecard) applied to all of the account's events
with event time up to that ``as_of``, folded by the service's own fold
(``services.scoring.domain.fold``) and merged by the same rules its tables apply. The
score history is left out: it moves only the reasons (a trend), and the check
compares score, band, components and segment (and, with a scorecard, the explained
measures).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from services.ingest.domain.validation import decode_event, to_signal
from services.scoring.domain.account_state import (
    AccountState,
    OpenTicket,
    OverdueInvoice,
    Response,
    decode_day,
)
from services.scoring.domain.attributes import latest_values
from services.scoring.domain.fold import INVOICE_STATUS, fold_signals
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.signal_decode import ScoringSignal, decode_signal
from services.scoring.scorecard.compiled import CompiledScorecard, compile_scorecard
from services.scoring.scorecard.document import Scorecard
from services.scoring.scorecard.evaluate import evaluate, measure_values
from shared.contracts import signal_to_json

FIRST_VALUE_FEATURES = 3  # as ``services.scoring.repository.writes`` marks first value
Signals = Mapping[str, Sequence[ScoringSignal]]  # per account, in fold order


@dataclass
class PointInTime:
    """How many published changes (last revision per ``as_of``) equal the model then."""

    total: int = 0
    true: int = 0
    false: list[str] = field(default_factory=list)  # a few, described

    @property
    def ok(self) -> bool:
        return self.true == self.total

    def detail(self) -> str:
        return f"{self.true} of {self.total} published changes equal the model at their as_of"


def signals_of(items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, list[ScoringSignal]]:
    """Raw (source, event) items as scoring reads them, per account, in fold order."""
    now = datetime.now(UTC)
    out: dict[str, list[ScoringSignal]] = {}
    for source, body in items:
        event = decode_event(source, orjson.dumps(body), now=now)
        signal = decode_signal(signal_to_json(to_signal(event, source, now)))
        out.setdefault(signal.account_id, []).append(signal)
    for signals in out.values():
        signals.sort(key=lambda s: (s.occurred_at, s.event_id))
    return out


def state_at(signals: Sequence[ScoringSignal], as_of: datetime) -> AccountState | None:
    """The account's state from its events up to ``as_of`` (``signals`` in fold order)."""
    upto = list(signals[: bisect_right([s.occurred_at for s in signals], as_of)])
    if not upto:
        return None
    changes = fold_signals(upto)
    account = changes.accounts[upto[0].account_id]
    features = sorted((first, name) for (_a, name), (first, _l, _n) in changes.features.items())
    overdue: dict[str, datetime] = {}
    paid: dict[str, datetime] = {}
    for s in upto:  # per event, as the invoices table merges them
        status = INVOICE_STATUS.get(s.type) if s.source == "payment" else None
        invoice = getattr(s, "invoice_id", None)
        if invoice and status == "overdue":
            overdue.setdefault(invoice, s.occurred_at)
        elif invoice and status == "paid":
            paid[invoice] = s.occurred_at
    tickets = list(changes.tickets.values())
    invoices = list(changes.invoices.values())
    days = [
        (day, decode_day(day, counts, changes.user_days.get((a, day), {})))
        for (a, day), counts in changes.rollups.items()
    ]
    return AccountState(
        account_id=account.account_id,
        first_seen_at=account.first_seen_at,
        arr=account.arr,
        seats=account.seats,
        plan=account.plan,
        attributes=latest_values(account.attributes),
        started_at=account.started_at,
        renewal_at=account.renewal_at,
        canceled_at=account.canceled_at,
        last_downgrade_at=account.downgraded_at,
        first_value_at=(
            features[FIRST_VALUE_FEATURES - 1][0] if len(features) >= FIRST_VALUE_FEATURES else None
        ),
        daily_activity={day: (int(v[0]), v[1]) for (_a, day), v in changes.activity.items()},
        user_last_seen={user: seen[1] for (_a, user), seen in changes.users.items()},
        feature_last_used={name: f[1] for (_a, name), f in changes.features.items()},
        open_tickets=tuple(
            OpenTicket(t.severity or "normal", t.opened_at, t.reopens)
            for t in tickets
            if t.status == "open"
        ),
        tickets_updated=tuple(t.updated_at for t in tickets),
        reopens_recent=sum(t.reopens for t in tickets),
        responses=tuple(Response(kind, value, at) for _a, _e, kind, value, at in changes.responses),
        payment_failures=tuple(at for _a, _e, at, _i in changes.failures),
        overdue_invoices=tuple(
            OverdueInvoice(i.invoice_id, overdue.get(i.invoice_id) or i.due_at or i.updated_at)
            for i in invoices
            if i.status in ("overdue", "failed") and (overdue.get(i.invoice_id) or i.due_at)
        ),
        invoices_paid=tuple(paid[i.invoice_id] for i in invoices if i.invoice_id in paid),
        # what a scorecard with filtered measures reads (the default reads neither)
        rollups=tuple(r for _day, rows in days for r in rows[0]),
        user_days=tuple(u for _day, rows in days for u in rows[1]),
    )


def last_revisions(changes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Per (account, as_of), the change with the highest revision (the last published)."""
    last: dict[tuple[str, str], Mapping[str, Any]] = {}
    for change in changes:
        key = (change["account_id"], change["as_of"])
        kept = last.get(key)
        if kept is None or change.get("revision", 0) >= kept.get("revision", 0):
            last[key] = change
    return list(last.values())


def check(
    changes: Iterable[Mapping[str, Any]],
    signals: Signals,
    config: HealthModelConfig | None = None,
    *,
    scorecard: Scorecard | None = None,
) -> PointInTime:
    """Every last revision against the model on the account's events up to its ``as_of``;
    with a live ``scorecard``, against it, and each measure value in the published
    explanation against the measure computed from those events."""
    cfg = config or HealthModelConfig()
    card = compile_scorecard(scorecard) if scorecard is not None else None
    result = PointInTime()
    for change in sorted(last_revisions(changes), key=lambda c: (c["account_id"], c["as_of"])):
        as_of = datetime.fromisoformat(change["as_of"])
        state = state_at(signals.get(change["account_id"], ()), as_of)
        result.total += 1
        if state is None:
            _false(result, change, "no event of the account is that old")
            continue
        health = score(state, as_of, cfg) if card is None else evaluate(card, state, as_of)
        published = (change["score"], change["band"], change["components"])
        model = (health.score, health.band, health.components)
        wrong = _wrong_measures(card, state, as_of, change) if card is not None else ""
        if _segmented_by(card, change) and change.get("segment") != health.segment:
            wrong += f"; segment {change.get('segment')} != {health.segment}"
        if published == model and not wrong:
            result.true += 1
        else:
            _false(result, change, f"model {model}, published {published}{wrong}")
    return result


def _segmented_by(card: CompiledScorecard | None, change: Mapping[str, Any]) -> bool:
    """Whether ``change`` was segmented by ``card`` (the model's when None): a change from
    before a scorecard was live was segmented otherwise and only its score must agree."""
    explained = (change.get("explanation") or {}).get("scorecard_version")
    return card is None or explained == card.version


def _wrong_measures(
    card: CompiledScorecard, state: AccountState, as_of: datetime, change: Mapping[str, Any]
) -> str:
    """The explained measures whose value is not the one computed from the events."""
    explanation = change.get("explanation") or {}
    explained = explanation.get("measures") or {}
    values = measure_values(card, state, as_of)
    # a change the scorecard explained names all its measures; one from before it was
    # live (the default's explanation) only those the two share
    every = explanation.get("scorecard_version") == card.version
    wrong = [
        f"{name} {(explained.get(name) or {}).get('value')} != {value}"
        for name, value in values.items()
        if (every or name in explained) and (explained.get(name) or {}).get("value") != value
    ]
    return f"; measures {', '.join(wrong[:3])}" if wrong else ""


def _false(result: PointInTime, change: Mapping[str, Any], expected: str) -> None:
    if len(result.false) < 10:
        result.false.append(
            f"{change['account_id']} as_of {change['as_of']} rev {change.get('revision')}:"
            f" {change['reasons'][:1]}; {expected}"
        )
