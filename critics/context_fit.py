"""The critic's context side: how badly a continuation fits its own context, one score per phrase
(higher = fits worse), the `misfit`. A context-blind generator writes lines that are each
plausible music but not this phrase's music (another key, register, density or feel, or a leap at
the seam): the anomaly reads that only weakly (AUROC 0.80 on the validation split for the true
continuation of another song's context) and no statistic of the continuation alone can.

The misfit is a gradient-boosted tree model (scikit-learn's HistGradientBoostingClassifier, Ke et
al. 2017's histogram boosting) over `metrics.coherence`'s 40 context-vs-continuation
comparisons, trained to tell the training split's real phrases from the same contexts continued
by the true continuation of a context of another song (`critics.degenerate`'s `other_context`,
drawn `DERANGEMENTS` times with other seeds: the validity suite draws its own with seed 0 on
other splits). misfit = the model's log-odds that a phrase is such a pairing.

Stored as plain tensors of its trees (scikit-learn has no format but pickle, and a critic file is
read with `torch.load(weights_only=True)`); `fit` checks that the stored trees give
scikit-learn's own `decision_function`, so a change inside scikit-learn fails loudly at training
time instead of silently changing the score.
"""

from __future__ import annotations

import numpy as np
import torch

from critics.degenerate import degenerate
from metrics.coherence import CONTEXT_FIT_FEATURES, context_fit_matrix
from phrases.decode import decode_phrase

DERANGEMENTS = 4  # negatives per real phrase: the same contexts, another song's continuation each time
# chosen on the validation split among ten settings (0.906-0.916 there, all within its noise; README: Two-sided)
BOOSTING = {"max_iter": 800, "learning_rate": 0.05, "max_leaf_nodes": 31, "l2_regularization": 1.0,
            "min_samples_leaf": 50, "early_stopping": False}


class ContextFit:
    """A forest of regression trees over `metrics.coherence` features; score = the sum of the
    leaves reached + a baseline."""

    def __init__(self, trees: dict[str, torch.Tensor]) -> None:
        self.trees = trees

    @classmethod
    def fit(cls, features_real: np.ndarray, features_other: np.ndarray, seed: int = 0,
            weights_other: np.ndarray | None = None) -> ContextFit:
        from sklearn.ensemble import HistGradientBoostingClassifier

        x = np.concatenate([features_real, features_other])
        y = np.r_[np.zeros(len(features_real)), np.ones(len(features_other))]
        weights = None if weights_other is None else np.r_[np.ones(len(features_real)), weights_other]
        model = HistGradientBoostingClassifier(random_state=seed, **BOOSTING).fit(x, y, sample_weight=weights)
        nodes = [predictor.nodes for (predictor,) in model._predictors]  # binary: one tree per iteration
        roots = np.cumsum([0] + [len(n) for n in nodes[:-1]])
        table = np.concatenate(nodes)
        offset = np.repeat(roots, [len(n) for n in nodes])
        fitted = cls({
            "feature": torch.from_numpy(table["feature_idx"].astype(np.int64)),
            "threshold": torch.from_numpy(table["num_threshold"].astype(np.float64)),
            "left": torch.from_numpy((table["left"] + offset).astype(np.int64)),
            "right": torch.from_numpy((table["right"] + offset).astype(np.int64)),
            "leaf": torch.from_numpy(table["is_leaf"].astype(bool)),
            "value": torch.from_numpy(table["value"].astype(np.float64)),
            "roots": torch.from_numpy(roots.astype(np.int64)),
            "baseline": torch.tensor(float(np.ravel(model._baseline_prediction)[0]), dtype=torch.float64),
        })
        check = x[:: max(1, len(x) // 2000)]
        if not np.allclose(fitted.score_features(check), model.decision_function(check), atol=1e-9):
            raise RuntimeError("the stored trees do not give scikit-learn's decision_function: the "
                               "installed scikit-learn stores its trees another way; pin scikit-learn 1.9")
        return fitted

    def score_features(self, x: np.ndarray) -> np.ndarray:
        """misfit of each row of `x` (n, features): walk every tree at once, level by level."""
        t = {k: v.numpy() for k, v in self.trees.items()}
        x = np.asarray(x, np.float64)
        node = np.broadcast_to(t["roots"], (len(x), len(t["roots"]))).copy()
        rows = np.arange(len(x))[:, None]
        while not t["leaf"][node].all():
            left = x[rows, t["feature"][node]] <= t["threshold"][node]  # features are never NaN
            node = np.where(t["leaf"][node], node, np.where(left, t["left"][node], t["right"][node]))
        return t["value"][node].sum(1) + float(t["baseline"])

    def score(self, decoded) -> np.ndarray:
        """misfit of each decoded phrase (`phrases.decode.DecodedPhrase`)."""
        return self.score_features(context_fit_matrix([d.context_notes for d in decoded],
                                                      [d.continuation_notes for d in decoded],
                                                      [d.context_beats for d in decoded]))

    def state(self) -> dict[str, torch.Tensor]:
        return dict(self.trees)

    @classmethod
    def from_state(cls, state: dict) -> ContextFit:
        return cls({k: state[k] for k in ("feature", "threshold", "left", "right", "leaf", "value", "roots",
                                          "baseline")})


def fit_context_fit(tokenizer, train, phrase_bars: int, config, seed: int = 0, attacked=None) -> ContextFit | None:
    """A ContextFit trained on the phrases of `train` (a split), decoded as every leaderboard row is;
    None when the split holds one song (no other song to draw a continuation from). `attacked`:
    (a subset of `train`, a generator's continuations of its contexts) as more negatives, weighted
    to count as much as all the other-song ones together (hardening against a generator optimized
    against the critic, as a GAN's discriminator learns from its generator's samples)."""
    if len(np.unique(train.arrays["song"])) < 2:
        return None

    def features(split, continuations) -> np.ndarray:
        decoded = [decode_phrase(tokenizer, c, k, t, phrase_bars) for c, k, t in
                   zip(split.token_lists("context"), continuations, split.arrays["tempo_qpm"])]
        return context_fit_matrix([d.context_notes for d in decoded], [d.continuation_notes for d in decoded],
                                  [d.context_beats for d in decoded])

    real = features(train, train.token_lists("continuation"))
    other = np.concatenate([features(train, degenerate("other_context", train, train, tokenizer, config, seed + 1 + i))
                            for i in range(DERANGEMENTS)])
    if attacked is None:
        return ContextFit.fit(np.concatenate([real] * DERANGEMENTS), other, seed)
    extra = features(*attacked)
    # real phrases weigh 2: the two kinds of negatives together as much as the real ones
    return ContextFit.fit(np.concatenate([real] * 2 * DERANGEMENTS), np.concatenate([other, extra]), seed,
                          np.r_[np.ones(len(other)), np.full(len(extra), len(other) / max(len(extra), 1))])


__all__ = ["CONTEXT_FIT_FEATURES", "ContextFit", "DERANGEMENTS", "fit_context_fit"]
