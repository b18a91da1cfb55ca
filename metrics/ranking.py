"""Which neighbouring leaderboard rows the data can tell apart.

Every row of a benchmark continues the same contexts and is compared with the same reference
phrases, so two rows are compared pairwise over their shared contexts (as MIREX 2025 ranks its
systems, with paired tests and a correction for testing many pairs):

    gap(row)  = max_k 2 |AUROC(s_k(row), s_k(reference)) - 1/2|     (`worst_gap`, the primary score)
    d         = gap(a) - gap(b)
    d*        = the same on one bootstrap replicate that draws the same phrase indices for a and b
                (the shared contexts) and one draw of the reference
    p         = 2 (1 - Phi(|d| / sd(d*)))      (the bootstrap standard-error test, Efron & Tibshirani
                                               1993, ch. 16: unlike a count of replicates, its
                                               smallest value is not 2/(B + 1), which Holm's factor
                                               would lift over any level with a dozen rows)

The p-values of the neighbouring pairs are Holm-corrected (Holm 1979); neighbours whose corrected p
is at least `ALPHA` share a tie group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import norm, rankdata

ALPHA = 0.05


def fast_auroc(a: np.ndarray, ref: np.ndarray) -> float:
    """P(a > ref) + P(a = ref) / 2 by mid-ranks (Mann-Whitney U / (n_a n_ref))."""
    r = rankdata(np.concatenate([a, ref]))
    n, m = len(a), len(ref)
    return float((r[:n].sum() - n * (n + 1) / 2) / (n * m))


def worst_gap(row: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """max over the score kinds k of 2 |AUROC(row_k, reference_k) - 1/2|."""
    return max(2 * abs(fast_auroc(np.asarray(a), np.asarray(r)) - 0.5) for a, r in zip(row, reference))


def paired_gap_p(a: Sequence[np.ndarray], b: Sequence[np.ndarray], reference: Sequence[np.ndarray],
                 n_boot: int = 200, seed: int = 0) -> float:
    """Two-sided paired-bootstrap p-value of worst_gap(a) = worst_gap(b) (see the module)."""
    n, m = len(a[0]), len(reference[0])
    rng = np.random.default_rng([seed, 31])
    d = np.empty(n_boot)
    for i in range(n_boot):
        idx, ref_idx = rng.integers(0, n, n), rng.integers(0, m, m)
        ref = [np.asarray(r)[ref_idx] for r in reference]
        d[i] = worst_gap([np.asarray(x)[idx] for x in a], ref) - worst_gap([np.asarray(x)[idx] for x in b], ref)
    observed = worst_gap(a, reference) - worst_gap(b, reference)
    se = float(d.std(ddof=1)) if n_boot > 1 else 0.0
    if se == 0.0:
        return 1.0 if observed == 0.0 else 0.0
    return float(2 * norm.sf(abs(observed) / se))


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): sorted ascending, p_(i) (m - i + 1), made
    monotone, at most 1."""
    p = np.asarray(p, np.float64)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def tie_groups(rows: Sequence[Sequence[np.ndarray]], reference: Sequence[np.ndarray], n_boot: int = 200,
               seed: int = 0, alpha: float = ALPHA) -> list[int]:
    """A group number (1, 2, ...) per row, rows given in rank order: a row shares its predecessor's
    group when their Holm-corrected paired p-value is at least `alpha`. Rows of one benchmark have
    one phrase per context each, in the same order."""
    if not rows:
        return []
    p = holm([paired_gap_p(a, b, reference, n_boot, seed) for a, b in zip(rows, rows[1:])])
    groups = [1]
    for tied in p >= alpha:
        groups.append(groups[-1] if tied else groups[-1] + 1)
    return groups


__all__ = ["fast_auroc", "holm", "paired_gap_p", "tie_groups", "worst_gap"]
