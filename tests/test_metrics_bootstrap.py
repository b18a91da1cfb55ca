"""Seeded bootstrap intervals over phrases."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.bootstrap import bootstrap, with_ci


def test_mean_interval_matches_normal_theory():
    x = np.random.default_rng(0).normal(10, 2, size=400)
    value, low, high = bootstrap(np.mean, x, n_boot=2000, seed=0)
    assert value == pytest.approx(x.mean())
    assert low < value < high
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert bootstrap(np.mean, x, n_boot=200, seed=5) == bootstrap(np.mean, x, n_boot=200, seed=5)


def test_resamples_phrases_not_notes():
    phrases = [np.arange(k + 1) for k in range(30)]  # phrase k holds k + 1 notes
    ids = {id(p) for p in phrases}

    def notes_per_phrase(sample):
        assert all(id(p) in ids for p in sample)  # whole phrases, as given
        return float(np.mean([len(p) for p in sample]))

    value, low, high = bootstrap(notes_per_phrase, phrases, n_boot=300, seed=1)
    assert value == pytest.approx(15.5)
    assert 1 < low < value < high < 30


def test_two_samples_dicts_and_pairing():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 100), rng.normal(1, 1, 80)
    diff = bootstrap(lambda x, y: float(np.mean(y) - np.mean(x)), a, b, n_boot=500, seed=0)
    assert diff[1] < diff[0] < diff[2] and diff[1] > 0.4
    both = bootstrap(lambda x, y: {"ma": float(np.mean(x)), "mb": float(np.mean(y))}, a, b, n_boot=200, seed=0)
    assert set(both) == {"ma", "mb"} and both["mb"][1] > both["ma"][2]
    nats, counts = rng.uniform(1, 2, 50), rng.integers(1, 5, 50)
    ratio = bootstrap(lambda n, c: float(n.sum() / c.sum()), nats, counts, n_boot=200, seed=0, paired=True)
    assert ratio[1] < ratio[0] < ratio[2]
    with pytest.raises(ValueError, match="one length"):
        bootstrap(lambda x, y: 0.0, a, b, paired=True)


def test_with_ci_names():
    assert with_ci("jsd_pitch", (0.1, 0.05, 0.2)) == {
        "jsd_pitch": 0.1, "jsd_pitch_ci_low": 0.05, "jsd_pitch_ci_high": 0.2,
    }


def test_intervals_hold_their_point_and_stay_in_range():
    # a basic interval reaching below 0 is cut at 0; one that misses its point is widened to it
    assert with_ci("jsd_step", (0.01, -0.02, 0.03), (0.0, 1.0)) == {
        "jsd_step": 0.01, "jsd_step_ci_low": 0.0, "jsd_step_ci_high": 0.03}
    assert with_ci("realness", (0.9, 0.91, 1.2), (0.0, 1.0)) == {
        "realness": 0.9, "realness_ci_low": 0.9, "realness_ci_high": 1.0}
    rng = np.random.default_rng(3)
    for _ in range(20):  # on real bootstrap output: always inside the range, always around the point
        x = rng.exponential(0.01, size=30)  # a small positive statistic: its basic interval reaches below 0
        m = with_ci("m", bootstrap(np.mean, x, n_boot=50, seed=1, method="basic"), (0.0, 1.0))
        assert 0.0 <= m["m_ci_low"] <= m["m"] <= m["m_ci_high"] <= 1.0


def test_basic_interval_undoes_the_upward_bias_of_a_divergence():
    # Two samples of one distribution: the true JSD is 0, the plug-in estimate is above it and
    # its bootstrap replicates higher still; only the basic interval holds the true 0.
    from metrics.jsd import jsd

    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 20, 60), rng.integers(0, 20, 60)

    def hist_jsd(x, y):
        return jsd(np.bincount(x, minlength=20), np.bincount(y, minlength=20))

    value, low, high = bootstrap(hist_jsd, a, b, n_boot=300, seed=0)
    assert value < low  # percentile: the replicates all sit above the estimate
    value_b, low_b, high_b = bootstrap(hist_jsd, a, b, n_boot=300, seed=0, method="basic")
    assert value_b == value and low_b < 0 < high_b < low
    with pytest.raises(ValueError, match="percentile or basic"):
        bootstrap(hist_jsd, a, b, method="bca")
