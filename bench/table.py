"""The printed table of `make bench` (pure formatting of ``latest.json``'s figures)."""

from __future__ import annotations

from statistics import median
from typing import Any

from bench import curve


def table(results: dict[str, Any]) -> list[str]:
    """The printed rows; a row whose figures were not measured says so."""
    rows = _throughput_table(results) if "ceiling_events_per_s" in results else []
    scale_out = rows.pop() if rows else None  # row 8 goes last
    if "throughput_baseline" in results:
        rows += _throughput_baseline_rows(results["throughput_baseline"])
    rows += _scorecard_rows(results, bool(scale_out))
    targets = (("health_changes", "health change", 500), ("webhooks", "webhook", 800))
    for target, label, goal in targets:
        if "latency" in results:
            q = results["latency"][target]
            rows.append(
                f"6. event -> {label:<14} at 2,000/s  p50 {q['p50']['median'] * 1000:,.0f} ms"
                f"  p95 {q['p95']['median'] * 1000:,.0f} ms"
                f"  p99 {q['p99']['median'] * 1000:,.0f} ms"
                f" (max {q['p99']['max'] * 1000:,.0f})  (target p99 < {goal} ms)"
            )
        if "latency_baseline" in results:
            rows.append(_baseline_row(results["latency_baseline"], target, label))
    if "latency_stages" in results:
        rows.append(_stages_row(results["latency_stages"]))
    baselines = [k for k in results if k.startswith("clock_baseline_")]
    for key in sorted(baselines, key=_size):
        rows.append(_clock_baseline_row(results[key]))
    # row 7 run alone: a baseline's row 7 (above) has the runs of both trees instead
    for key in sorted((k for k in results if _size(k) and k not in baselines), key=_size):
        r = results[key]
        rows.append(
            f"7. {_size(key):>9,} accounts, {r.get('workers', 1)} worker(s):"
            f" clock re-score {r['seconds']['median']:,.1f} s"
            f" (min {r['seconds']['min']:,.1f}, max {r['seconds']['max']:,.1f};"
            " target < 120 s at 1M),"
            f" peak RSS {r['peak_rss_mb']['median']:,.0f} MB in all (target < 300 MB at 1M)"
        )
    if scale_out:
        rows.append(scale_out)
    if "curve" in results:
        rows += curve.table(results["curve"])
    if "console" in results:
        rows.append(_console_row(results["console"]))
    return rows or ["(no rows measured)"]


CONSOLE_PAGES = (
    ("list_ms", "account list"),
    ("deep_ms", "deep keyset page"),
    ("search_ms", "search"),
    ("account_ms", "account page"),
    ("model_ms", "model"),
    ("pipeline_ms", "pipeline"),
    ("playbooks_ms", "playbooks"),
)


def _console_row(console: dict[str, Any]) -> str:
    """Row 10: the console's server time per page (its Server-Timing header)."""
    pages = ", ".join(
        f"{label} {console[key]['p50']:,.0f} / {console[key]['p99']:,.0f} ms"
        for key, label in CONSOLE_PAGES
        if key in console
    )
    return (
        f"10. console with {console['accounts']:,} accounts, server time p50 / p99: {pages}"
        " (target p99 < 200 ms)"
    )


def _baseline_row(side_by_side: dict[str, Any], target: str, label: str) -> str:
    """Row 6 of this tree against a baseline commit, medians of the alternating runs."""

    def p99(runs: list[dict[str, Any]]) -> float:
        return float(median(r[target]["p99"] for r in runs)) * 1000

    mine, theirs = p99(side_by_side["this"]), p99(side_by_side["baseline"])
    return (
        f"6. event -> {label:<14} at 2,000/s  p99 {mine:,.0f} ms against {theirs:,.0f} ms"
        f" of {side_by_side['ref']} (alternating runs, one stack)"
    )


def _stages_row(stages: dict[str, Any]) -> str:
    """Row 6's changes split at the signal: ingest's part and scoring's (with ingest's commit)."""

    def ms(stage: str, q: str) -> str:
        return f"{stages[stage][q]['median'] * 1000:,.0f}"

    return (
        "6. where the time goes (p50 / p99): event -> signal (ingest)"
        f" {ms('event_to_signal', 'p50')} / {ms('event_to_signal', 'p99')} ms,"
        " signal -> health change (scoring)"
        f" {ms('signal_to_health_change', 'p50')} / {ms('signal_to_health_change', 'p99')} ms"
    )


def _size(key: str) -> int:
    """The accounts of a ``clock_<size>`` or ``clock_baseline_<size>`` key, else 0."""
    last = key.rsplit("_", 1)[-1]
    return int(last) if key.startswith("clock_") and last.isdigit() else 0


def _throughput_baseline_rows(side_by_side: dict[str, Any]) -> list[str]:
    """Rows 2 and 3 of this tree against a baseline commit, medians of alternating runs."""
    rows = []
    for number, row, label in ((2, "ingest", "ingest alone"), (3, "scoring", "scoring")):
        name = f"{row}_events_per_s"
        mine, theirs = side_by_side["this"][name], side_by_side["baseline"][name]
        rows.append(
            f"{number}. {label:<14} {mine['median']:,.0f}/s against {theirs['median']:,.0f}/s"
            f" of {side_by_side['ref']}: {mine['median'] / theirs['median']:.2f}x"
            " (alternating runs, one stack)"
        )
    return rows


def _clock_baseline_row(side_by_side: dict[str, Any]) -> str:
    """Row 7 of this tree against a baseline commit: medians of seconds and peak RSS."""

    def m(label: str, field: str) -> float:
        return float(median(r[field] for r in side_by_side[label]))

    return (
        f"7. {side_by_side['size']:>9,} accounts: clock re-score {m('this', 'seconds'):,.1f} s"
        f" against {m('baseline', 'seconds'):,.1f} s of {side_by_side['ref']},"
        f" peak RSS {m('this', 'peak_rss_mb'):,.0f} MB against"
        f" {m('baseline', 'peak_rss_mb'):,.0f} MB (alternating runs, one stack)"
    )


def _throughput_table(results: dict[str, Any]) -> list[str]:
    def m(name: str) -> float:
        return float(results[name]["median"])

    def span(name: str) -> str:
        return _span(results[name])

    ceiling, scoring = m("ceiling_events_per_s"), m("scoring_events_per_s")
    two = m("scoring_2_instances_events_per_s")
    return [
        f"1. ceiling (plain aiokafka consumer)   {span('ceiling_events_per_s')}",
        f"2. ingest alone                        {span('ingest_events_per_s')}"
        f"   {m('ingest_events_per_s') / ceiling:.2f} x ceiling",
        f"3. scoring end to end (PostgreSQL)     {span('scoring_events_per_s')}"
        f"   {scoring / ceiling:.2f} x ceiling (target >= 0.4)",
        f"4. naive baseline (txn per event)      {span('naive_events_per_s')}"
        f"   scoring is {scoring / m('naive_events_per_s'):.1f} x naive (target >= 20)",
        f"5. peer: Quix Streams aggregation      {span('quix_events_per_s')}"
        f"   scoring is {scoring / m('quix_events_per_s'):.2f} x Quix (target >= 1.5)",
        f"8. two scoring instances vs one        {span('scoring_2_instances_events_per_s')}"
        f"   {two / scoring:.2f} x one instance",
    ]


def _scorecard_rows(results: dict[str, Any], throughput: bool) -> list[str]:
    """Row 11 (and row 3 beside it when the throughput rows did not run)."""
    if "scoring_30_measures_events_per_s" not in results:
        return []
    row3, wide = results["scoring_events_per_s"], results["scoring_30_measures_events_per_s"]
    out = [] if throughput else [f"3. scoring end to end (PostgreSQL)     {_span(row3)}"]
    return [
        *out,
        f"11. scoring, 30-measure scorecard     {_span(wide)}"
        f"   {wide['median'] / row3['median']:.2f} x row 3 (target >= 0.75)",
    ]


def _span(r: dict[str, Any]) -> str:
    return f"{r['median']:>10,.0f}/s  (min {r['min']:,.0f}, max {r['max']:,.0f})"
