"""The accuracy picture: ROC per component and churn rate by band (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt

from services.scoring.domain.model_config import COMPONENTS
from services.scoring.trust.accuracy import stats
from services.scoring.trust.accuracy.report import HorizonReport

BAND_COLORS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}


def plot(h: HorizonReport, model_version: str, path: Path) -> Path:
    """Write a two-panel PNG of one horizon's report to ``path``."""
    figure, (roc, bands) = plt.subplots(1, 2, figsize=(11, 4.6))
    churned = [int(s.sample.churned) for s in h.scored]
    fpr, tpr = stats.roc_points(churned, [-s.score for s in h.scored])
    auc = h.overall.auc if h.overall else float("nan")
    roc.plot(fpr, tpr, linewidth=2.5, color="black", label=f"score (AUC {auc:.2f})")
    for name in COMPONENTS:
        pairs = [
            (int(s.sample.churned), -v)
            for s in h.scored
            if (v := s.sample.point.components.get(name)) is not None
        ]
        estimate = h.components.get(name)
        if estimate is None or not pairs:
            continue
        x, y = stats.roc_points([c for c, _ in pairs], [r for _, r in pairs])
        roc.plot(x, y, linewidth=1.2, label=f"{name} (AUC {estimate.auc:.2f})")
    roc.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc.set(xlabel="false positive rate (renewed flagged)", ylabel="true positive rate (churn)")
    roc.set_title(f"ROC, {h.horizon_days} days ahead (n={h.n}, {h.churned} churned)")
    roc.legend(loc="lower right", fontsize=8)
    names = [b.band for b in h.bands]
    rates = [100 * (b.rate or 0.0) for b in h.bands]
    bars = bands.bar(names, rates, color=[BAND_COLORS[n] for n in names])
    for bar, b in zip(bars, h.bands, strict=True):
        bands.annotate(
            f"{b.churned}/{b.n}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
        )
    bands.set(ylabel="churn rate (%)", ylim=(0, 105))
    bands.set_title(f"churn by band {h.horizon_days} days before (model {model_version})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
