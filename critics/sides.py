"""The primary score's sides beyond the anomaly, per phrase, from decoded phrases
(`phrases.decode.decode_phrase`): the blandness (`critics.blandness`) of the degeneracy statistics
(`metrics.degeneracy`), and the misfit to the context (`critics.context_fit`) where the critic has
one. One function, so that the leaderboard, the validity suite and `tune --objective score` read a
phrase the same way.
"""

from __future__ import annotations

import numpy as np

from metrics.degeneracy import degeneracy
from metrics.plagiarism import TrainingPatterns


def other_sides(blandness, context_fit, decoded, training: TrainingPatterns, seed: int = 0
                ) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, np.ndarray]]:
    """(blandness, misfit, degeneracy statistics) of each decoded phrase; a side that is None
    (a critic from before it) gives None."""
    contexts, notes = [d.context_notes for d in decoded], [d.continuation_notes for d in decoded]
    stats = degeneracy(contexts, notes, training, seed)
    return (blandness.score(stats) if blandness is not None else None,
            context_fit.score(decoded) if context_fit is not None else None, stats)


__all__ = ["other_sides"]
