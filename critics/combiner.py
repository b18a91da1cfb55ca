"""One anomaly from a critic's per-phrase signals, fitted on real held-out phrases only.

Each signal s_i is oriented (sign_i: higher = stranger) and standardised on the real validation
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

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr


@dataclass
class Combiner:
    names: tuple[str, ...]
    weights: tuple[float, ...]  # Bonferroni weights, any positive scale
    signs: tuple[float, ...]  # +1: higher is stranger; -1: lower is stranger
    mean: np.ndarray | None = None
    sd: np.ndarray | None = None

    def _u(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        x = np.stack([np.asarray(signals[n], np.float64) * s for n, s in zip(self.names, self.signs)], 1)
        return (x - self.mean) / self.sd

    def fit(self, signals: dict[str, np.ndarray]) -> Combiner:
        """Standardise on real phrases' signals."""
        x = np.stack([np.asarray(signals[n], np.float64) * s for n, s in zip(self.names, self.signs)], 1)
        self.mean, self.sd = x.mean(0), np.maximum(x.std(0, ddof=1), 1e-9)
        return self

    def score(self, signals: dict[str, np.ndarray]) -> np.ndarray:
        """The anomaly of each phrase (higher = stranger)."""
        w = np.asarray(self.weights, np.float64)
        return -(log_ndtr(-self._u(signals)) - np.log(w / w.sum())).min(1)

    def state(self) -> dict:
        return {"names": list(self.names), "weights": list(self.weights), "signs": list(self.signs),
                "mean": self.mean.tolist(), "sd": self.sd.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> Combiner:
        return cls(tuple(state["names"]), tuple(state["weights"]), tuple(state["signs"]),
                   np.asarray(state["mean"], np.float64), np.asarray(state["sd"], np.float64))
