"""Batches of variable-length token sequences: length-bucketed index batches, right padding."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence


def pad_batch(seqs, pad: int) -> torch.Tensor:
    """(B, L) long tensor of right-padded sequences (torch's `pad_sequence`)."""
    return pad_sequence([torch.as_tensor(np.asarray(s, dtype=np.int64)) for s in seqs], batch_first=True,
                        padding_value=pad)


def batches(seqs, batch_size: int, seed: int, shuffle: bool = True) -> list[list[int]]:
    """Index batches: shuffled, then sorted by length inside pools of 50 batches (less padding);
    the order depends only on `seed`. Without `shuffle`, in input order, still length-sorted per pool."""
    idx = np.random.default_rng(seed).permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    out = []
    pool = batch_size * 50
    for start in range(0, len(idx), pool):
        chunk = sorted(idx[start : start + pool], key=lambda i: len(seqs[i]))
        group = [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
        if shuffle:
            group = [group[i] for i in np.random.default_rng(seed + start).permutation(len(group))]
        out += group
    return out
