"""Held-out loss from a generator's teacher-forced per-token NLL (`Generator.nll`).

Token NLL depends on the tokenization (REMI spends several tokens per note), so bits per note
is given too: the same total information divided by the number of notes, comparable across
tokenizers of the same notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _total(token_nll: Sequence[np.ndarray] | np.ndarray) -> tuple[float, int]:
    """(sum of NLL in nats, number of tokens) over one flat array or a list of per-phrase arrays."""
    if isinstance(token_nll, np.ndarray) and token_nll.dtype != object:
        flat = token_nll.ravel()
    else:
        flat = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in token_nll] or [np.zeros(0)])
    return float(np.sum(flat, dtype=np.float64)), int(flat.size)


def nll_per_token(token_nll: Sequence[np.ndarray] | np.ndarray) -> float:
    """Mean NLL per token in nats: sum_t -log p(x_t | x_<t) / T, pooled over all phrases."""
    total, n = _total(token_nll)
    if n == 0:
        raise ValueError("nll_per_token: no tokens; pass the per-token NLL arrays of at least one phrase")
    return total / n


def bits_per_note(token_nll: Sequence[np.ndarray] | np.ndarray, note_counts: Sequence[int] | np.ndarray) -> float:
    """Bits per note: sum_t -log2 p(x_t | x_<t) / N, N the number of notes those tokens encode.

    `note_counts` holds the notes of each phrase whose tokens were scored (e.g.
    `len(phrase.continuation_notes)` when only continuations are scored).
    """
    total, _ = _total(token_nll)
    notes = int(np.sum(note_counts))
    if notes == 0:
        raise ValueError("bits_per_note: the phrases hold no notes")
    return total / math.log(2) / notes


def loss_metrics(
    token_nll: Sequence[np.ndarray] | np.ndarray | None, note_counts: Sequence[int] | np.ndarray
) -> dict[str, float | None]:
    """`nll` (nats/token) and `bits_per_note`; both None when the generator has no NLL."""
    if token_nll is None:
        return {"nll": None, "bits_per_note": None}
    return {"nll": nll_per_token(token_nll), "bits_per_note": bits_per_note(token_nll, note_counts)}
