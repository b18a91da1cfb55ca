"""Fréchet distance: closed forms, a set with itself, rank-deficient covariances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from metrics.frechet import fcd, frechet_distance, frechet_distance_gaussians


def test_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(300, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_closed_form():
    # |mu1 - mu2|^2 + sum (s1 - s2)^2 for diagonal covariances: (1 + 4) + (1 - 2)^2 + (2 - 3)^2 = 7
    d = frechet_distance_gaussians([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([4.0, 9.0]))
    assert d == pytest.approx(7.0)


def test_rotated_gaussian_closed_form():
    # S1 = I, S2 = R diag(a, b) R^T: d = (1 - sqrt a)^2 + (1 - sqrt b)^2
    a, b, t = 4.0, 0.25, 0.7
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    s2 = r @ np.diag([a, b]) @ r.T
    assert frechet_distance_gaussians([0, 0], np.eye(2), [0, 0], s2) == pytest.approx(1 + 0.25)


def test_samples_approach_the_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal([0, 0], [1, 2], size=(20000, 2))
    y = rng.normal([1, 2], [2, 3], size=(20000, 2))
    assert frechet_distance(x, y) == pytest.approx(7.0, rel=0.03)


def test_agrees_with_scipy_sqrtm_on_full_rank():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(200, 4)), rng.normal(size=(150, 4)) @ rng.normal(size=(4, 4)) + 1
    m1, m2, s1, s2 = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    classic = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(x, y) == pytest.approx(classic, rel=1e-6)


def test_rank_deficient_covariances_stay_real_and_non_negative():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 32))  # 5 points in 32 dims: covariance of rank 4
    y = rng.normal(size=(6, 32)) @ np.diag(np.r_[np.ones(3), np.zeros(29)])  # rank <= 3
    for a, b in [(x, x), (x, y), (y, y), (y, x)]:
        d = fcd(a, b)
        assert isinstance(d, float) and np.isfinite(d) and d >= 0
    assert fcd(x, x) == pytest.approx(0.0, abs=1e-6)
    assert fcd(y, y) == pytest.approx(0.0, abs=1e-6)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((1, 3)), np.zeros((10, 3)))
