"""Bootstrap 95% intervals for any metric of one or two samples of phrases."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Interval = tuple[float, float, float]  # (value, ci_low, ci_high)


def _take(sample, idx: np.ndarray):
    """Rows `idx` of a sample: an array's rows, or a list's items (phrases), in that order."""
    if isinstance(sample, np.ndarray):
        return sample[idx]
    return [sample[i] for i in idx]


def bootstrap(
    metric: Callable[..., float | dict[str, float]],
    *samples: Sequence | np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    paired: bool = False,
    method: str = "percentile",
) -> Interval | dict[str, Interval]:
    """(value, ci_low, ci_high): `metric(*samples)` and its bootstrap interval.

    Each replicate draws every sample's items (phrases, or rows of an embedding array) with
    replacement, independently per sample, or with one shared draw when `paired` (samples of one
    length, e.g. per-phrase NLL arrays and note counts). With q_lo, q_hi the quantiles of the
    replicates that hold the central `level` share (Efron & Tibshirani 1993, ch. 13):

    - "percentile": [q_lo, q_hi]. Right for means (nll, musical descriptors, copy_rate).
    - "basic": [2 value - q_hi, 2 value - q_lo]. For plug-in divergences (JSD, Fréchet):
      duplicated phrases inflate them, so their replicates sit above the value and a percentile
      interval may not even hold it; the basic interval undoes that shift (its low end can be
      below 0, meaning "consistent with no difference").

    Replicates where the metric is NaN are left out. A metric that returns a dict gives a dict
    of intervals.
    """
    if not samples:
        raise ValueError("bootstrap needs at least one sample")
    if method not in ("percentile", "basic"):
        raise ValueError(f"method {method!r}: choose percentile or basic")
    sizes = [len(s) for s in samples]
    if paired and len(set(sizes)) > 1:
        raise ValueError(f"paired bootstrap needs samples of one length, got {sizes}")
    rng = np.random.default_rng(seed)
    value = metric(*samples)
    reps = []
    for _ in range(n_boot):
        if paired:
            idx = rng.integers(0, sizes[0], sizes[0])
            reps.append(metric(*(_take(s, idx) for s in samples)))
        else:
            reps.append(metric(*(_take(s, rng.integers(0, n, n)) for s, n in zip(samples, sizes))))
    tail = (1 - level) / 2 * 100
    if isinstance(value, dict):
        return {k: _interval(value[k], [r[k] for r in reps], tail, method) for k in value}
    return _interval(value, reps, tail, method)


def _interval(value: float, reps: list[float], tail: float, method: str) -> Interval:
    reps = np.asarray(reps, dtype=np.float64)
    reps = reps[~np.isnan(reps)]
    if len(reps) == 0:
        return float(value), float("nan"), float("nan")
    low, high = np.percentile(reps, [tail, 100 - tail])
    if method == "basic":
        low, high = 2 * value - high, 2 * value - low
    return float(value), float(low), float(high)


def with_ci(key: str, interval: Interval, bounds: tuple[float, float] = (-np.inf, np.inf)) -> dict[str, float]:
    """{key: value, key_ci_low: low, key_ci_high: high}: the leaderboard's names for an interval.

    An interval a reader can trust: widened to contain its point estimate (a percentile interval
    of a skewed replicate distribution can miss it) and cut to the metric's range `bounds` (a
    basic interval of a divergence can reach below 0, where no divergence is)."""
    value, low, high = interval
    if not (np.isnan(low) or np.isnan(high)):
        low, high = max(min(low, value), bounds[0]), min(max(high, value), bounds[1])
    return {key: value, f"{key}_ci_low": float(low), f"{key}_ci_high": float(high)}
