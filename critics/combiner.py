"""One anomaly from a critic's per-phrase signals, fitted on real held-out phrases only.

A signal that is a mean over a phrase's n_i units (notes) is first put on the scale of its standard
error, the one-sample z form s_i <- (s_i - c_i) sqrt(n_i), with c_i its mean per unit over the real
phrases (sum s_i n_i / sum n_i): a mean over 40 notes is surer than one over 8, and a continuation
with a wrong note in ten stands out by its sum over sqrt(n), not by its mean alone.
Each signal s_i is then oriented (sign_i: higher = stranger) and standardised on the real validation
phrases, u_i = sign_i (s_i - m_i) / sd_i; its one-sided p-value is the Gaussian tail
p_i = P(N(0, 1) > u_i), and the anomaly is the weighted minimum p-value of Tippett's method
(Tippett 1931) with Bonferroni weights w_i (summing to 1; Holm 1979):

    anomaly = -log min_i (p_i / w_i)

Why this and not the sum of signals, Fisher's -2 sum log p_i, or a Gaussian density over u (DoSE,
Morningstar et al. 2021), all measured on the validation corruptions: every corruption of the
validity suite shows in one signal mostly (wrong notes in one, a shifted key in another, moved
onsets in a third); a sum or a density dilutes it by the others' noise, a minimum p-value does
not. The scale is -log p (nats of probability), not nats per token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_ndtr


@dataclass
class Combiner:
    names: tuple[str, ...]
    weights: tuple[float, ...]  # Bonferroni weights, any positive scale
    signs: tuple[float, ...]  # +1: higher is stranger; -1: lower is stranger
    per_unit: dict[str, str] = field(default_factory=dict)  # a signal that is a mean -> the signal counting its units
    unit_mean: dict[str, float] = field(default_factory=dict)  # c of each per-unit signal, fitted
    mean: np.ndarray | None = None
    sd: np.ndarray | None = None

    def _units(self, signals: dict[str, np.ndarray], name: str) -> np.ndarray:
        """n of a per-unit signal, at least 1 (a continuation without notes has a mean of 0)."""
        return np.maximum(np.asarray(signals[self.per_unit[name]], np.float64), 1)

    def _x(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """The oriented signals, per-unit ones as (s - c) sqrt(n)."""
        def one(name):
            s = np.asarray(signals[name], np.float64)
            return (s - self.unit_mean[name]) * np.sqrt(self._units(signals, name)) if name in self.per_unit else s
        return np.stack([one(n) * s for n, s in zip(self.names, self.signs)], 1)

    def _u(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        return (self._x(signals) - self.mean) / self.sd

    def fit(self, signals: dict[str, np.ndarray]) -> Combiner:
        """Fit the per-unit means and standardise, on real phrases' signals."""
        for name in self.per_unit:
            n = self._units(signals, name)
            self.unit_mean[name] = float((np.asarray(signals[name], np.float64) * n).sum() / n.sum())
        x = self._x(signals)
        self.mean, self.sd = x.mean(0), np.maximum(x.std(0, ddof=1), 1e-9)
        return self

    def score(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """The anomaly of each phrase (higher = stranger)."""
        w = np.asarray(self.weights, np.float64)
        return -(log_ndtr(-self._u(signals)) - np.log(w / w.sum())).min(1)

    def state(self) -> dict:
        return {"names": list(self.names), "weights": list(self.weights), "signs": list(self.signs),
                "per_unit": dict(self.per_unit), "unit_mean": dict(self.unit_mean),
                "mean": self.mean.tolist(), "sd": self.sd.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> Combiner:
        return cls(tuple(state["names"]), tuple(state["weights"]), tuple(state["signs"]),
                   dict(state.get("per_unit", {})), dict(state.get("unit_mean", {})),
                   np.asarray(state["mean"], np.float64), np.asarray(state["sd"], np.float64))
