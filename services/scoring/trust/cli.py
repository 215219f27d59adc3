"""``vigil calibrate`` and ``vigil backtest``: score trust from the command line.

Both read the scoring database directly (read-only) and print; the live
model is the latest stored scoring config.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.repository import scorecard_population as population
from services.scoring.scorecard.backtest import ScorecardHorizon
from services.scoring.scorecard.backtest import lines as scorecard_lines
from services.scoring.scorecard.candidate import ScorecardCandidate
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import load
from services.scoring.trust import service as trust
from services.scoring.trust.accuracy.backtest import BandPlaybooks, band_playbooks
from services.scoring.trust.accuracy.plot import plot
from services.scoring.trust.accuracy.render import as_data, lines
from services.scoring.trust.accuracy.report import AccuracyReport, build_report, horizon_report
from shared.database.config_store import VersionedConfig
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.settings.connections import PostgresTls

Echo = Callable[[str], None]


async def _live_and_history(
    database_url: str, *, everything: bool = False, tls: PostgresTls | None = None
) -> tuple[HealthModelConfig, trust.History]:
    engine = create_engine(database_url, pool_size=1, tls=tls)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            store = VersionedConfig("scoring_config", HealthModelConfig)
            live = await store.refresh(session)
            history = await trust.load_history(session, everything=everything)
    finally:
        await engine.dispose()
    return live, history


# another part to print beside the AUC: (title, text lines, JSON data), e.g. the
# playbooks' feedback, which the ``vigil`` command reads from the triggers
Beside = tuple[str, list[str], Any]


def calibrate(
    database_url: str,
    horizons: Sequence[int],
    plot_path: Path | None,
    as_json: bool,
    echo: Echo,
    beside: Beside | None = None,
    tls: PostgresTls | None = None,
) -> AccuracyReport:
    live, history = asyncio.run(_live_and_history(database_url, tls=tls))
    report = build_report(history, live, horizons)
    if as_json:
        data = as_data(report)
        if beside is not None:
            data["feedback"] = beside[2]
        echo(json.dumps(data, indent=1))
    else:
        for line in lines(report):
            echo(line)
        if beside is not None:
            echo(beside[0])
            for line in beside[1]:
                echo(line)
    if plot_path is not None:
        measured = next((h for h in report.horizons if h.overall is not None), None)
        if measured is None:
            echo("no plot: no horizon has enough outcomes")
        else:
            plot(measured, report.model_version, plot_path)
            echo(f"plot of the {measured.horizon_days}-day horizon written to {plot_path}")
    return report


def backtest(
    database_url: str,
    config_path: Path,
    horizons: Sequence[int],
    echo: Echo,
    tls: PostgresTls | None = None,
) -> None:
    """A model config (JSON) replayed on the stored history, or a scorecard (YAML or JSON)
    recomputed point in time from state (its measures may be new)."""
    text = config_path.read_text()
    if config_path.suffix in (".yaml", ".yml") or '"measures"' in text:
        backtest_scorecard(database_url, config_path, horizons, echo, tls)
        return
    candidate = HealthModelConfig.model_validate_json(text)
    live, history = asyncio.run(_live_and_history(database_url, everything=True, tls=tls))
    echo(f"live {live.model_version} vs candidate {candidate.model_version}")
    for days in horizons:
        old, new = horizon_report(history, live, days), horizon_report(history, candidate, days)
        if new.overall is None or old.overall is None:
            echo(f"  {days:>3} days: {new.message}")
            continue
        echo(
            f"  {days:>3} days: AUC live {old.overall.auc:.3f} [{old.overall.low:.3f},"
            f" {old.overall.high:.3f}]  candidate {new.overall.auc:.3f}"
            f" [{new.overall.low:.3f}, {new.overall.high:.3f}]  n={new.n}"
        )
    for name, model in (("live", live), ("candidate", candidate)):
        _playbooks(name, band_playbooks(history, history.points, model), echo)


def _playbooks(name: str, result: BandPlaybooks, echo: Echo) -> None:
    bands = ", ".join(f"{band} {n}" for band, n in result.accounts_by_band.items())
    entries = ", ".join(
        f"from {b} {n}" for b, n in sorted(result.red_entries_by_band_before.items())
    )
    echo(f"  {name:<9} accounts by band: {bands}")
    echo(f"  {name:<9} at_risk episodes (entries into red): {result.at_risk_episodes} ({entries})")


class InvalidScorecard(ValueError):
    """The candidate file is not a valid scorecard: every error, each with its path."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def backtest_scorecard(
    database_url: str,
    path: Path,
    horizons: Sequence[int],
    echo: Echo,
    tls: PostgresTls | None = None,
) -> list[ScorecardHorizon]:
    """The live scorecard and the candidate's AUC on the stored outcomes, and each of the
    candidate's measures' own AUC, recomputed point in time from the accounts' state."""
    card, errors = load(path)
    if card is None:
        raise InvalidScorecard(errors)
    try:
        candidate = ScorecardCandidate(card, compile_scorecard(card))
    except ValueError as error:
        raise InvalidScorecard([str(error)]) from None

    async def run() -> tuple[ScorecardCandidate, list[ScorecardHorizon]]:
        engine = create_engine(database_url, pool_size=1, tls=tls)
        try:
            return await population.backtest(create_sessionmaker(engine), candidate, horizons)
        finally:
            await engine.dispose()

    live, results = asyncio.run(run())
    echo(f"live {live.model_version} vs candidate {candidate.model_version} (point in time)")
    for result in results:
        for line in scorecard_lines(result):
            echo(line)
    return results
