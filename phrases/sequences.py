"""A phrase as a model reads it: BOS + context + continuation + EOS, one int64 array."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def model_sequences(contexts: Sequence, continuations: Sequence, bos: int, eos: int) -> list[np.ndarray]:
    """BOS + context + continuation + EOS for each (context, continuation) pair."""
    if len(contexts) != len(continuations):
        raise ValueError(f"{len(contexts)} contexts but {len(continuations)} continuations; give one each")
    return [np.concatenate([[bos], np.asarray(c, np.int64), np.asarray(d, np.int64), [eos]]).astype(np.int64)
            for c, d in zip(contexts, continuations)]


def split_sequences(split, bos: int, eos: int) -> list[np.ndarray]:
    """`model_sequences` of every window of a `PhraseSplit`."""
    return model_sequences(split.token_lists("context"), split.token_lists("continuation"), bos, eos)
