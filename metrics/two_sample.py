"""Two-sample tests as scores: a classifier two-sample test, and the critic's AUROC gap."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def auroc(scores_a: np.ndarray, scores_ref: np.ndarray) -> float:
    """AUROC of telling set a (positive) from the reference (negative) by score, higher = a.

    = P(score_a > score_ref) + P(tie) / 2 (Mann-Whitney U / (n_a n_ref)); sklearn's roc_auc_score.
    """
    a, r = np.ravel(scores_a), np.ravel(scores_ref)
    labels = np.concatenate([np.ones(len(a)), np.zeros(len(r))])
    return float(roc_auc_score(labels, np.concatenate([a, r])))


def critic_gap(scores_a: np.ndarray, scores_ref: np.ndarray) -> float:
    """critic_gap = 2 |AUROC - 0.5| of critic anomaly scores, set a vs the reference set.

    0: the critic cannot tell the sets apart; 1: it separates them fully, in either direction
    (too strange and too bland are both wrong). ARCHITECTURE.md, "Why the critic is two-sided".
    """
    return 2 * abs(auroc(scores_a, scores_ref) - 0.5)


def critic_gap_interval(auroc_interval: tuple[float, float, float]) -> tuple[float, float, float]:
    """critic_gap and its interval from an interval of the signed AUROC: the image of
    [low, high] under a -> 2|a - 0.5|, which starts at 0 when the AUROC interval holds 0.5.

    Bootstrapping the gap itself is biased upwards near 0 (|.| folds the replicates onto one
    side), so its percentile interval can miss a gap of 0.002 entirely; the signed AUROC has no
    fold."""
    value, low, high = auroc_interval
    gap = lambda a: 2 * abs(a - 0.5)  # noqa: E731
    if np.isnan(low) or np.isnan(high):
        return gap(value), float("nan"), float("nan")
    low, high = min(low, value), max(high, value)
    inner = 0.0 if low <= 0.5 <= high else min(gap(low), gap(high))
    return gap(value), inner, max(gap(low), gap(high))


def c2st_auroc(x: np.ndarray, y: np.ndarray, seed: int = 0, folds: int = 5) -> float:
    """Classifier two-sample test: cross-validated AUROC of telling rows of `x` from rows of `y`.

    Logistic regression on standardized features; stratified `folds`-fold CV (shuffled with
    `seed`); the AUROC of the pooled out-of-fold probabilities. 0.5: indistinguishable; values a
    little under 0.5 happen by chance. Lopez-Paz & Oquab (2017), "Revisiting classifier
    two-sample tests".
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"c2st_auroc needs two (n, d) arrays of one d, got {x.shape} and {y.shape}")
    folds = min(folds, len(x), len(y))
    if folds < 2:
        raise ValueError("c2st_auroc needs at least 2 rows in each set")
    features = np.concatenate([x, y])
    labels = np.concatenate([np.ones(len(x)), np.zeros(len(y))])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, features, labels, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, proba))
