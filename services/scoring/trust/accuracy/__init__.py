"""Score trust: outcomes, point-in-time features, accuracy, suggested weights. Pure.

Nothing here imports an I/O library: the repository loads plain rows, these
modules turn them into reports, the API and the CLI print them.

    outcomes.py  churn / renewal labels: derived from account facts or given
    features.py  the score an account had ``horizon`` days before each outcome
    stats.py     ROC AUC with a bootstrap interval, bands, lift, deciles
    weights.py   suggested weights per segment (regularized logistic regression)
    replay.py    a stored score re-weighted by another model config
    report.py    the accuracy report of one model over every horizon
"""
