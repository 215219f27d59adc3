"""Row 9: latency against the offered rate, and the rate where p99 passes 1 s.

One pipeline (the three services, a webhook receiver) serves every rate in
turn: a window of events at the rate, drained before the next, so each point
starts from an empty pipeline without paying for start-up again. After the
fixed rates it probes more (:mod:`tests.support.rate_curve`) to bracket the
rate where p99 event -> ``health.changes`` passes the limit. Draws
``bench/results/latency_curve.png``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt
from matplotlib import ticker

from bench import latency
from tests.support.rate_curve import Point, bracket, crossing, next_rate

RATES = (250.0, 500.0, 1000.0, 2000.0, 4000.0)
LIMIT_S = 1.0
PROBES = 3  # extra rates at most: each costs a window and its drain (~30-45 s)
# health changes follow ~2% of events (the urgent tickets) and a few score steps: a window
# of at least this many events gives p99 about a hundred changes to rest on, within a bound
MIN_EVENTS = 5000
LONGEST_S = 60.0
LOWEST_RATE = 50.0  # the search halves no further: a window there has ~60 changes
TARGETS = (("health_changes", "health change"), ("webhooks", "webhook"))


async def measure_curve(
    bootstrap: str,
    database_url: str,
    topics: dict[str, str],
    logs: Path,
    *,
    rates: Sequence[float] = RATES,
    seconds: float = 20,
    say: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """Each of ``rates``, then up to ``PROBES`` more towards the crossing."""
    windows: list[dict[str, Any]] = []

    async def at(running: latency.Pipeline, rate: float, *, probe: bool = False) -> None:
        long = max(seconds, min(MIN_EVENTS / rate, LONGEST_S))
        window = await running.window(rate, long) | {"rate": rate, "seconds": long}
        window["probe"] = probe  # a rate found by the search, not one asked for
        windows.append(window)
        say(f"    {row_line(window)}")

    async with latency.pipeline(bootstrap, database_url, topics, logs) as running:
        for rate in rates:
            await at(running, rate)
        for _ in range(PROBES):
            probe = next_rate(points(windows), LIMIT_S, lowest=LOWEST_RATE)
            if probe is None:
                break
            await at(running, round(probe), probe=True)
    found = bracket(points(windows), LIMIT_S)
    return {
        "limit_s": LIMIT_S,
        "windows": sorted(windows, key=lambda w: float(w["rate"])),
        "crossing_per_s": crossing(points(windows), LIMIT_S),
        "under": asdict(found.under) if found.under else None,
        "over": asdict(found.over) if found.over else None,
    }


def points(windows: Sequence[dict[str, Any]]) -> list[Point]:
    return [Point(float(w["rate"]), float(w["health_changes"]["p99"])) for w in windows]


def row_line(window: dict[str, Any]) -> str:
    def q(target: str) -> str:
        p = window[target]
        return " / ".join(_ms(p[k]) for k in ("p50", "p95", "p99")) + f" (n {p['n']:,})"

    offered = window["sent"] / window["seconds"]
    return (
        f"{window['rate']:>6,.0f}/s (sent {offered:,.0f}/s): p50 / p95 / p99 ms:"
        f" health change {q('health_changes')}, webhook {q('webhooks')}"
    )


def table(curve: dict[str, Any]) -> list[str]:
    rows = ["9. latency against the offered rate, event -> health change and -> webhook:"]
    rows += [f"     {row_line(w)}" for w in curve["windows"]]
    return [*rows, f"   {crossing_line(curve)}"]


def crossing_line(curve: dict[str, Any]) -> str:
    limit = f"{curve['limit_s']:g} s"
    under, over = curve["under"], curve["over"]
    if under is None and over is not None:
        return f"p99 event -> health change is over {limit} already at {over['rate']:,.0f}/s"
    if over is None and under is not None:
        return f"p99 event -> health change stays under {limit} up to {under['rate']:,.0f}/s"
    if under is None or over is None:
        return "p99 event -> health change: not measured"
    return (
        f"p99 event -> health change passes {limit} at ~{curve['crossing_per_s']:,.0f}/s"
        f" (between {under['rate']:,.0f}/s: {under['p99_s']:.2f} s"
        f" and {over['rate']:,.0f}/s: {over['p99_s']:.2f} s)"
    )


def _tick_labels(windows: list[dict[str, Any]], apart: float = 1.25) -> list[str]:
    """A label per window's rate: the asked-for rates always, a probed rate only where
    it does not crowd a label (probes lie close together on the log axis)."""
    labelled = [float(w["rate"]) for w in windows if not w.get("probe")]
    for rate in sorted(float(w["rate"]) for w in windows if w.get("probe")):
        if all(max(rate, other) >= min(rate, other) * apart for other in labelled):
            labelled.append(rate)
    return [f"{w['rate']:,.0f}" if float(w["rate"]) in labelled else "" for w in windows]


def plot(curve: dict[str, Any], path: Path) -> Path:
    """x: offered rate (log), y: latency in ms (log); p50 and p99 of both targets."""
    windows = curve["windows"]
    figure, axes = plt.subplots(figsize=(8, 5))
    rates = [w["rate"] for w in windows]
    for (target, label), color in zip(TARGETS, ("tab:blue", "tab:orange"), strict=True):
        for q, style in (("p50", ":"), ("p99", "-")):
            ms = [w[target][q] * 1000 for w in windows]
            axes.plot(rates, ms, style, marker="o", color=color, label=f"{q} event -> {label}")
    axes.axhline(curve["limit_s"] * 1000, color="grey", linewidth=1, label="1 s")
    if (rate := curve["crossing_per_s"]) is not None:
        axes.axvline(rate, color="red", linestyle="--", linewidth=1)
        axes.plot([rate], [curve["limit_s"] * 1000], "x", color="red", markersize=10)
        axes.annotate(
            f"  p99 passes 1 s at ~{rate:,.0f}/s",
            (rate, curve["limit_s"] * 1000),
            xytext=(6, -14),
            textcoords="offset points",
        )
    axes.set(xscale="log", yscale="log", xlabel="offered rate (events/s)", ylabel="latency (ms)")
    axes.set_xticks(rates, _tick_labels(windows), fontsize=8)
    axes.xaxis.set_minor_locator(ticker.NullLocator())
    plain = ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    axes.yaxis.set_major_formatter(plain)
    axes.yaxis.set_minor_formatter(plain)  # the minor ticks carry labels on a short log axis
    axes.set_title("Vigil: latency against the offered rate")
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f}"
