"""Trivial statistics a critic must beat: no training, one line each, higher = stranger.

They are the validity suite's reference points (`critics.validity`), never inputs to a critic's
score: a critic whose AUROC on a corruption does not clear the best of them by 0.05 has learned
nothing that a one-liner does not know.
"""

from __future__ import annotations

import numpy as np

from phrases.unigram import Unigram
from phrases.vocab import Vocab


def mean_interval(context, continuation, vocab: Vocab) -> float:
    """Mean |pitch interval| (semitones) between consecutive notes of the continuation; 0 for
    fewer than two notes. Random pitches leap."""
    p = vocab.pitches(continuation).astype(np.float64)
    return float(np.abs(np.diff(p)).mean()) if len(p) > 1 else 0.0


def pc_mismatch(context, continuation, vocab: Vocab) -> float:
    """1 - overlap of the pitch-class histograms of context and continuation,
    overlap = sum_c min(p_ctx(c), p_cont(c)) (histogram intersection; Swain & Ballard 1991);
    1 when either side has no note. A wrong key shows here."""
    a, b = (np.bincount(vocab.pitches(x) % 12, minlength=12).astype(np.float64) for x in (context, continuation))
    if a.sum() == 0 or b.sum() == 0:
        return 1.0
    return float(1.0 - np.minimum(a / a.sum(), b / b.sum()).sum())


def unigram_nll(continuation, unigram: Unigram) -> float:
    """Mean NLL (nats) of the continuation's tokens under the unigram model of the training
    phrases (`phrases.Unigram`)."""
    return float(unigram.nll([continuation])[0].mean()) if len(continuation) else 0.0


BASELINES = ("mean_interval", "pc_mismatch", "unigram_nll")


def baseline_scores(contexts, continuations, vocab: Vocab, unigram: Unigram) -> dict[str, np.ndarray]:
    """Every baseline's score of every (context, continuation) pair."""
    return {
        "mean_interval": np.array([mean_interval(c, d, vocab) for c, d in zip(contexts, continuations)]),
        "pc_mismatch": np.array([pc_mismatch(c, d, vocab) for c, d in zip(contexts, continuations)]),
        "unigram_nll": np.array([unigram_nll(d, unigram) for d in continuations]),
    }
