"""The reward a generator fine-tuned against a critic climbs: how real the critic finds each
continuation on its worst side.

For each side of the primary score (`benchmark.runner`: the anomaly, the blandness and, where the
critic has it, the context misfit; higher = less like real music on each) a continuation's
realness on that side is the share of real validation phrases that score at least as badly,
`realness_from(reference, score)` (`critics.base`); the reward is the smallest of them:

    reward = min over sides s of #{real validation phrases r : side_s(r) >= side_s(x)} / #{real}

in [0, 1]; real continuations have each side's realness ~ Uniform(0, 1). The primary score is the
worst of the sides' gaps, so a policy that raises this worst-side realness on every phrase climbs
the primary score itself, not one side of it.
"""

from __future__ import annotations

import numpy as np

from critics.base import realness_from
from critics.blandness import fit_blandness
from critics.sides import other_sides
from metrics.plagiarism import TrainingPatterns
from phrases.decode import decode_phrase


class CriticReward:
    """`reward(contexts, continuations, tempos)` of one critic on one corpus's phrases."""

    def __init__(self, critic, data, seed: int = 0) -> None:
        self.critic, self.tokenizer, self.bars, self.seed = critic, data.tokenizer, data.config.phrase_bars, seed
        self.patterns = TrainingPatterns.from_split(data.train)
        self.blandness = getattr(critic, "blandness", None) or fit_blandness(data.tokenizer, data.val, self.patterns,
                                                                             self.bars)
        self.context_fit = getattr(critic, "context_fit", None)
        val = data.val
        self.references = self.sides(val.token_lists("context"), val.token_lists("continuation"),
                                     val.arrays["tempo_qpm"])

    def sides(self, contexts, continuations, tempos) -> list[np.ndarray]:
        """Each side's score of each pair (higher = less like real music)."""
        anomaly = self.critic.analyze(contexts, continuations).anomaly
        decoded = [decode_phrase(self.tokenizer, c, k, t, self.bars) for c, k, t in zip(contexts, continuations, tempos)]
        bland, misfit, _ = other_sides(self.blandness, self.context_fit, decoded, self.patterns, self.seed)
        return [anomaly, bland] + ([misfit] if misfit is not None else [])

    def __call__(self, contexts, continuations, tempos) -> np.ndarray:
        sides = self.sides(contexts, continuations, tempos)
        return np.min([realness_from(ref, s) for ref, s in zip(self.references, sides)], axis=0)
