"""The critic's bland side: how much more bland, repetitive, copied or samey a continuation is than
real ones, as one score per phrase (higher = more degenerate).

Each statistic s_k of `metrics.degeneracy` (oriented: higher = more degenerate) is read against
the same statistic of the real validation phrases, as an upper-tail empirical p-value with the
+1 of a permutation test (Phipson & Smyth 2010),

    p_k = (1 + #{real phrases with s_k >= value}) / (1 + N),

and past the most degenerate real value m_k, an exponential tail on the scale of the real spread
sd_k, p_k = exp(-(value - m_k) / sd_k) / (1 + N): without it every line beyond all real ones
would tie with the few real phrases at the top of the range (a loop with a borderline real
phrase), and with it a line far beyond them is surer than one just beyond. The score is Tippett's minimum p-value with equal Bonferroni weights (as the anomaly's
`critics.combiner` does), blandness = -log(K min_k p_k): a continuation is as degenerate as its
most degenerate statistic says, and none of them dilutes another. Real held-out phrases score
about like the real validation phrases; a continuation beyond every real one on any statistic
scores at least log((1 + N) / K), and more the farther beyond it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.degeneracy import DEGENERACY, degeneracy
from metrics.plagiarism import TrainingPatterns
from phrases.decode import decode_phrase


@dataclass
class Blandness:
    names: tuple[str, ...] = DEGENERACY
    reference: dict[str, np.ndarray] | None = None  # sorted real validation values per statistic

    def fit(self, stats: dict[str, np.ndarray]) -> Blandness:
        self.reference = {k: np.sort(np.asarray(stats[k], np.float64)) for k in self.names}
        return self

    def log_p_values(self, stats: dict[str, np.ndarray]) -> np.ndarray:
        """(n, K) log upper-tail p-values of each phrase's statistics among the real ones (in logs,
        so that a line far beyond every real one stays finite)."""
        cols = []
        for k in self.names:
            ref = self.reference[k]
            value = np.asarray(stats[k], np.float64)
            at_least = len(ref) - np.searchsorted(ref, value - 1e-12, side="left")
            beyond = np.maximum(value - ref[-1], 0.0) / max(float(ref.std()), 1e-6)
            cols.append(np.log((1 + at_least) / (1 + len(ref))) - beyond)
        return np.stack(cols, 1)

    def p_values(self, stats: dict[str, np.ndarray]) -> np.ndarray:
        return np.exp(self.log_p_values(stats))

    def score(self, stats: dict[str, np.ndarray]) -> np.ndarray:
        """blandness = -log(K min_k p_k), per phrase."""
        return -(np.log(len(self.names)) + self.log_p_values(stats).min(1))

    def state(self) -> dict:
        return {"names": list(self.names), "reference": {k: v.tolist() for k, v in self.reference.items()}}

    @classmethod
    def from_state(cls, state: dict) -> Blandness:
        return cls(tuple(state["names"]), {k: np.asarray(v, np.float64) for k, v in state["reference"].items()})




def fit_blandness(tokenizer, real_val, training: TrainingPatterns, phrase_bars: int, seed: int = 0) -> Blandness:
    """A Blandness read against the real phrases of a (validation) split, decoded as every
    leaderboard row is (`phrases.decode.decode_phrase`)."""
    decoded = [decode_phrase(tokenizer, c, k, t, phrase_bars) for c, k, t in
               zip(real_val.token_lists("context"), real_val.token_lists("continuation"), real_val.arrays["tempo_qpm"])]
    return Blandness().fit(degeneracy([d.context_notes for d in decoded], [d.continuation_notes for d in decoded],
                                      training, seed))


__all__ = ["Blandness", "fit_blandness"]
