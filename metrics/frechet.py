"""Fréchet distance between two sets of embeddings (FID-style; `fcd` on critic latent means)."""

from __future__ import annotations

import numpy as np


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition
    (eigenvalues below 0, from round-off, are set to 0). Kept instead of `scipy.linalg.sqrtm`:
    sqrtm goes through a Schur decomposition and returns complex parts and NaNs on the
    rank-deficient covariances that few phrases give, where the eigen route stays real."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance_gaussians(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein squared) distance of N(mu1, sigma1) and N(mu2, sigma2).

    d = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), Dowson & Landau (1982); used as
    FID by Heusel et al. (2017). The cross term is computed from the eigenvalues of the
    symmetric PSD matrix S1^1/2 S2 S1^1/2 (clipped at 0), so rank-deficient covariances are safe
    and the result is real; it is clipped at 0 against round-off.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    d = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross
    return float(max(d, 0.0))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of embeddings, `x` (n, d) and `y` (m, d).

    Means and unbiased covariances (ddof=1) of the rows; see `frechet_distance_gaussians`.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(x) < 2 or len(y) < 2:
        raise ValueError(f"frechet_distance needs two (n >= 2, d) arrays of one d, got {x.shape} and {y.shape}")
    return frechet_distance_gaussians(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))


fcd = frechet_distance  # the leaderboard key: Fréchet distance of critic latent means
