"""Classifier two-sample AUROC and the critic gap."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.two_sample import auroc, c2st_auroc, critic_gap


def test_critic_gap_hand_values():
    # a = [1, 3] vs ref = [2, 0]: a wins 3 of 4 pairs -> AUROC 0.75 -> gap 0.5
    assert auroc([1, 3], [2, 0]) == pytest.approx(0.75)
    assert critic_gap([1, 3], [2, 0]) == pytest.approx(0.5)
    assert critic_gap([5, 6, 7], [1, 2]) == pytest.approx(1.0)  # too strange
    assert critic_gap([1, 2], [5, 6, 7]) == pytest.approx(1.0)  # too bland: two-sided
    assert critic_gap([1, 2, 3], [1, 2, 3]) == pytest.approx(0.0)


def test_c2st_same_distribution_is_near_half_and_shifted_is_near_one():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    assert abs(c2st_auroc(x, y, seed=0) - 0.5) < 0.1
    shifted = y + np.r_[3.0, np.zeros(4)]
    assert c2st_auroc(x, shifted, seed=0) > 0.95


def test_c2st_is_seeded():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 3)), rng.normal(0.5, 1, size=(50, 3))
    assert c2st_auroc(x, y, seed=3) == c2st_auroc(x, y, seed=3)


def test_c2st_refuses_bad_shapes():
    with pytest.raises(ValueError):
        c2st_auroc(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError):
        c2st_auroc(np.zeros((1, 2)), np.zeros((10, 2)))
