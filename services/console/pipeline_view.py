"""What the pipeline page reads from each service's ``/metrics``. Pure.

Samples are matched by the endings of their names, which every service shares
through :class:`shared.metrics.ConsumerMetricSet` (``*_consumer_lag_messages``,
``*_dead_letters_total``, ...), so one summary fits ingest, scoring and triggers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

DISTRIBUTION = "vigil_scoring_accounts"
BANDS = ("green", "yellow", "red")
# the built-in model's, always listed; a scorecard's own segments join them when scored
SEGMENTS = ("enterprise", "mid_market", "smb", "self_serve", "unknown")
SEGMENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # as a scorecard spells one


@dataclass
class ServiceMetrics:
    service: str
    consumer_lag: float = 0.0
    lag_by_topic: dict[str, float] = field(default_factory=dict)
    stalled_s: float = 0.0
    event_time_lag_p50: str | None = None  # "<= 0.5 s", or "> 3600 s" past the last bucket
    event_time_lag_p99: str | None = None
    watermark_lag_s: dict[str, float] = field(default_factory=dict)
    dead_letters: dict[str, float] = field(default_factory=dict)
    held_back: float | None = None
    outbox_backlog: float | None = None
    webhooks: dict[str, float] = field(default_factory=dict)


# the samples a summary reads (by the end of their names, or "webhook" within)
READ = (
    "_consumer_lag_messages",
    "_consumer_stalled_seconds",
    "_watermark_lag_seconds",
    "_dead_letters_total",
    "_held_back_judgements_total",
    "_episodes_held_back_total",
    "_outbox_backlog_messages",
    "_event_time_lag_seconds_bucket",
    DISTRIBUTION,
)


def samples(text: str) -> list[Sample]:
    """The samples of ``text`` a page reads. The other lines are dropped before parsing:
    the parser is pure Python, and a service's histograms are most of its thousands of
    lines (parsing them all was most of the pipeline page's time)."""
    kept = "\n".join(line for line in text.splitlines() if _read(line))
    return [s for family in text_string_to_metric_families(kept) for s in family.samples]


def _read(line: str) -> bool:
    if not line or line.startswith("#"):
        return False
    name = line.split("{", 1)[0].split(" ", 1)[0]
    return name.endswith(READ) or "webhook" in name


def summarize(service: str, text: str) -> ServiceMetrics:
    found = samples(text)
    out = ServiceMetrics(service)
    lag: dict[str, float] = defaultdict(float)
    for s in found:
        name, labels = s.name, s.labels
        if name.endswith("_consumer_lag_messages"):
            lag[labels.get("topic", "?")] += s.value
        elif name.endswith("_consumer_stalled_seconds"):
            out.stalled_s = s.value
        elif name.endswith("_watermark_lag_seconds"):
            out.watermark_lag_s[labels.get("source", "?")] = s.value
        elif name.endswith("_dead_letters_total"):
            reason = labels.get("reason", "?")
            out.dead_letters[reason] = out.dead_letters.get(reason, 0.0) + s.value
        elif name.endswith(("_held_back_judgements_total", "_episodes_held_back_total")):
            out.held_back = (out.held_back or 0.0) + s.value
        elif name.endswith("_outbox_backlog_messages"):
            out.outbox_backlog = s.value
        elif "webhook" in name and not name.endswith(("_bucket", "_created", "_sum", "_count")):
            key = name + "".join(f" {k}={v}" for k, v in sorted(labels.items()))
            out.webhooks[key] = s.value
    out.lag_by_topic = dict(lag)
    out.consumer_lag = sum(lag.values())
    buckets = [s for s in found if s.name.endswith("_event_time_lag_seconds_bucket")]
    out.event_time_lag_p50 = bound_text(buckets, quantile(buckets, 0.5))
    out.event_time_lag_p99 = bound_text(buckets, quantile(buckets, 0.99))
    return out


def quantile(buckets: Iterable[Sample], q: float) -> float | None:
    """The upper bound of the bucket holding the ``q`` quantile (a histogram's own bound)."""
    cumulative: dict[float, float] = defaultdict(float)
    for s in buckets:
        cumulative[float(s.labels["le"])] += s.value
    if not cumulative:
        return None
    ordered = sorted(cumulative.items())
    total = ordered[-1][1]
    if total <= 0:
        return None
    return next(bound for bound, count in ordered if count >= q * total)


def bound_text(buckets: Iterable[Sample], bound: float | None) -> str | None:
    """A bucket bound as text; past the last finite bucket, "more than" that bucket."""
    if bound is None:
        return None
    if bound != float("inf"):
        return f"<= {bound:g} s"
    finite = [float(s.labels["le"]) for s in buckets if float(s.labels["le"]) != float("inf")]
    return f"> {max(finite):g} s" if finite else "unbounded"


def distribution(text: str) -> dict[str, dict[str, int]]:
    """Accounts by band, then segment, from scoring's ``vigil_scoring_accounts`` gauge
    (scoring counts them every few seconds: reading it costs nothing)."""
    table: dict[str, dict[str, int]] = {band: {} for band in BANDS}
    for s in samples(text):
        if s.name == DISTRIBUTION:
            band = s.labels.get("band", "?")
            table.setdefault(band, {})[s.labels.get("segment", "unknown")] = int(s.value)
    return table


def segments_of(table: Mapping[str, Mapping[str, int]]) -> tuple[str, ...]:
    """The built-in segments, then any other a scorecard scored accounts in, ``unknown`` last."""
    seen = {name for row in table.values() for name in row}
    others = sorted(n for n in seen if n not in SEGMENTS and SEGMENT_NAME.fullmatch(n))
    return (*SEGMENTS[:-1], *others, SEGMENTS[-1])


def segment_filter(value: str) -> str | None:
    """A segment asked for in a form: any name a scorecard could give ("" or other: none)."""
    return value if SEGMENT_NAME.fullmatch(value) else None
