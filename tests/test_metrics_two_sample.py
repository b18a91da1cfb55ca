"""Classifier two-sample AUROC and the critic gap."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.bootstrap import bootstrap
from metrics.two_sample import auroc, c2st_auroc, critic_gap, critic_gap_interval


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


def test_critic_gap_interval_comes_from_the_signed_auroc():
    # an AUROC interval holding 0.5: the gap interval starts at 0 and holds the point
    assert critic_gap_interval((0.501, 0.43, 0.57)) == pytest.approx((0.002, 0.0, 0.14))
    # entirely above (or below) 0.5: the image of the interval
    assert critic_gap_interval((0.8, 0.7, 0.9)) == pytest.approx((0.6, 0.4, 0.8))
    assert critic_gap_interval((0.2, 0.1, 0.3)) == pytest.approx((0.6, 0.4, 0.8))
    # on two samples from one distribution: the point is inside, the low end at 0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=64), rng.normal(size=256)
    gap, low, high = critic_gap_interval(bootstrap(auroc, a, b, n_boot=200, seed=0))
    assert gap == pytest.approx(critic_gap(a, b)) and low == 0.0 <= gap <= high <= 1.0
