"""The unigram baseline: token frequencies of the training phrases, and nothing else.

One model for every use: the `unigram_val_nll` a generator's `val_nll` is compared with, the
validity suite's `random` corruption and baseline, and the leaderboard's `random` reference row
(its samples and its `nll`).

    p(t) = (count(t) + 1) / sum_t' (count(t') + 1)

over the targets a model is trained on (context + continuation tokens and one EOS per phrase),
add-one (Laplace) smoothed over every id but PAD and BOS, which are never targets. Samples are
drawn from p restricted to non-special tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from phrases.vocab import Vocab


@dataclass(frozen=True)
class Unigram:
    probs: np.ndarray  # over the vocabulary; 0 for PAD and BOS
    sample_probs: np.ndarray  # the same without special tokens, renormalized

    @classmethod
    def fit(cls, split, vocab: Vocab) -> Unigram:
        """Fit on a `PhraseSplit` (the training split)."""
        counts = np.bincount(np.concatenate([split.arrays["context"], split.arrays["continuation"]]).astype(np.int64),
                             minlength=vocab.size).astype(np.float64)
        counts[vocab.eos] += len(split)
        counts += 1.0
        counts[[vocab.pad, vocab.bos]] = 0.0
        sample = np.where(vocab.special, 0.0, counts)
        return cls(counts / counts.sum(), sample / sample.sum())

    def nll(self, token_lists: Sequence) -> list[np.ndarray]:
        """Per-token NLL (nats) of each token list."""
        logp = np.log(np.maximum(self.probs, 1e-300))
        return [-logp[np.asarray(t, dtype=np.int64)] for t in token_lists]

    def mean_nll(self, token_lists: Sequence) -> float:
        """NLL per token (nats), pooled over all tokens of all lists."""
        return float(np.concatenate(self.nll(token_lists)).mean())

    def sample(self, lengths: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
        """One list of independent draws per length, special tokens excluded."""
        return [rng.choice(len(self.sample_probs), size=int(n), p=self.sample_probs).astype(np.int64) for n in lengths]
