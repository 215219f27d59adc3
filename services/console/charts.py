"""Charts as geometry, for inline SVG drawn by the templates. Pure: no I/O, no markup.

The score history is a line over the band zones (green >= 70, yellow 40-69,
red < 40), with a marker on every published change that moved the account (its
band changed, or its score by ``MOVE_POINTS`` or more); each marker's label is
its time, score and top reason. The calibration plot is the observed churn
rate of each score decile against the decile's scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MOVE_POINTS = 10.0
BANDS = (("green", 70.0, 100.0), ("yellow", 40.0, 70.0), ("red", 0.0, 40.0))


@dataclass(frozen=True)
class Frame:
    width: float = 960
    height: float = 240
    left: float = 44
    right: float = 12
    top: float = 10
    bottom: float = 28

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float, low: float, high: float) -> float:
        span = (high - low) or 1.0
        return round(self.top + (high - value) / span * self.plot_h, 1)

    def x(self, value: float, low: float, high: float) -> float:
        if high <= low:
            return round(self.left + self.plot_w / 2, 1)
        return round(self.left + (value - low) / (high - low) * self.plot_w, 1)


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    band: str
    moved: bool
    label: str


@dataclass(frozen=True)
class Zone:
    band: str
    y: float
    height: float


@dataclass(frozen=True)
class Tick:
    at: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the first and last time labels stay inside


@dataclass(frozen=True)
class Chart:
    frame: Frame
    path: str
    markers: list[Marker]
    zones: list[Zone]
    x_ticks: list[Tick]
    y_ticks: list[Tick]

    @property
    def empty(self) -> bool:
        return not self.markers


def score_history(history: Sequence[Mapping[str, Any]], frame: Frame = Frame()) -> Chart:
    """The history points (``as_of``, ``score``, ``band``, ``reasons``), oldest first."""
    times = [_time(p["as_of"]).timestamp() for p in history]
    low, high = (min(times), max(times)) if times else (0.0, 0.0)
    markers = []
    previous: Mapping[str, Any] | None = None
    for point, at in zip(history, times, strict=True):
        score = float(point["score"])
        markers.append(
            Marker(
                frame.x(at, low, high),
                frame.y(score, 0, 100),
                str(point["band"]),
                _moved(previous, point),
                _label(point),
            )
        )
        previous = point
    zones = [
        Zone(band, frame.y(top, 0, 100), round((top - bottom) / 100 * frame.plot_h, 1))
        for band, bottom, top in BANDS
    ]
    y_ticks = [Tick(frame.y(v, 0, 100), str(v)) for v in (0, 40, 70, 100)]
    return Chart(frame, _path(markers), markers, zones, _time_ticks(frame, low, high), y_ticks)


def calibration(deciles: Sequence[Mapping[str, Any]], frame: Frame = Frame()) -> Chart:
    """Observed churn rate of each decile (``score_min``, ``score_max``, ``churn_rate``)."""
    rates = [float(d.get("churn_rate") or 0.0) for d in deciles]
    top = max([*rates, 0.05])
    markers = []
    for decile, rate in zip(deciles, rates, strict=True):
        middle = (float(decile["score_min"]) + float(decile["score_max"])) / 2
        label = (
            f"decile {decile.get('decile')}: scores {float(decile['score_min']):.0f}"
            f"-{float(decile['score_max']):.0f}, churn {rate:.0%} of {decile.get('n')}"
        )
        markers.append(
            Marker(frame.x(middle, 0, 100), frame.y(rate, 0, top), _band(middle), True, label)
        )
    y_ticks = [Tick(frame.y(top * f, 0, top), f"{top * f:.0%}") for f in (0, 0.5, 1)]
    x_ticks = [Tick(frame.x(v, 0, 100), str(v)) for v in (0, 40, 70, 100)]
    return Chart(frame, _path(markers), markers, [], x_ticks, y_ticks)


def _band(score: float) -> str:
    return next(band for band, bottom, _ in BANDS if score >= bottom)


def _moved(previous: Mapping[str, Any] | None, point: Mapping[str, Any]) -> bool:
    if previous is None:
        return True
    jump = abs(float(point["score"]) - float(previous["score"]))
    return point["band"] != previous["band"] or jump >= MOVE_POINTS


def _label(point: Mapping[str, Any]) -> str:
    reasons = point.get("reasons") or []
    why = f": {reasons[0]}" if reasons else ""
    at = _time(point["as_of"]).strftime("%Y-%m-%d %H:%M")
    return f"{at} score {float(point['score']):.0f} ({point['band']}){why}"


def _path(markers: Sequence[Marker]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{m.x},{m.y}" for i, m in enumerate(markers))


def _time_ticks(frame: Frame, low: float, high: float) -> list[Tick]:
    if high <= low:
        return [Tick(frame.x(low, low, high), _day(low))] if low else []
    middle = (low + high) / 2
    return [
        Tick(frame.x(low, low, high), _day(low), "start"),
        Tick(frame.x(middle, low, high), _day(middle)),
        Tick(frame.x(high, low, high), _day(high), "end"),
    ]


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d")


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
