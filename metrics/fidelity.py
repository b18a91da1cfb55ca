"""Density and coverage of a generated set against the real one (Naeem et al. 2020, "Reliable
Fidelity and Diversity Metrics for Generative Models"), on any embedding (the critic's latent
means here).

With B(x, r_k(x)) the ball around real sample x whose radius is the distance to its k-th nearest
other real sample:

    density  = 1/(k M) sum_j #{real x_i : y_j in B(x_i, r_k(x_i))}      (fidelity; real ~ 1)
    coverage = 1/N sum_i [some y_j in B(x_i, r_k(x_i))]                  (diversity; 0..1)

over N real samples x and M generated samples y. A set that collapses onto a few points covers
few real neighbourhoods however real each of its points is; coverage depends on M (fewer samples
cover less), so compare rows of the same size (every row of a benchmark has one continuation per
context).
"""

from __future__ import annotations

import numpy as np

K = 5


def knn_radii(real: np.ndarray, k: int = K) -> np.ndarray:
    """r_k(x_i): each real sample's distance to its k-th nearest other real sample."""
    real = np.asarray(real, np.float64)
    d = np.sqrt(((real[:, None, :] - real[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return np.sort(d, 1)[:, min(k, len(real) - 1) - 1]


def density_coverage(real: np.ndarray, generated: np.ndarray, k: int = K,
                     radii: np.ndarray | None = None) -> tuple[float, float]:
    """(density, coverage) of `generated` (M, d) against `real` (N, d); nan with fewer than 2
    real or 1 generated sample. `radii`: `knn_radii(real, k)`, when already at hand."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if len(real) < 2 or len(generated) < 1:
        return float("nan"), float("nan")
    radii = knn_radii(real, k) if radii is None else radii
    inside = np.sqrt(((generated[:, None, :] - real[None, :, :]) ** 2).sum(-1)) <= radii[None, :]  # (M, N)
    return float(inside.sum() / (min(k, len(real) - 1) * len(generated))), float(inside.any(0).mean())


def coverage(real: np.ndarray, generated: np.ndarray, k: int = K) -> float:
    """Coverage alone (see `density_coverage`)."""
    return density_coverage(real, generated, k)[1]


def density(real: np.ndarray, generated: np.ndarray, k: int = K) -> float:
    """Density alone (see `density_coverage`)."""
    return density_coverage(real, generated, k)[0]


__all__ = ["coverage", "density", "density_coverage", "knn_radii"]
