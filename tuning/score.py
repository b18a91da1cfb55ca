"""`tune --objective score`: a trial's model scored as the leaderboard scores a row, on the
VALIDATION split, never the test split.

The validation windows are cut in two as `benchmark` cuts the test split (`held_out_halves` with
the study's seed): `contexts` windows of the first half are continued by the trial's model (its
best weights, one continuation each, sampled at the benchmark's default temperature 1.0 and
top-p 0.95 with the study's seed), the second half is the reference. The figure is the
leaderboard's primary score (`benchmark.runner.Benchmark.score`):

    critic_gap  = 2 |AUROC(critic anomaly of the continuations, of the reference) - 0.5|
    bland_gap   = 2 |AUROC(blandness of the continuations, of the reference) - 0.5|
    misfit_gap  = 2 |AUROC(context misfit of the continuations, of the reference) - 0.5|
                  (only with a critic that has the context side, `critics.context_fit`)
    primary_gap = max of the gaps above               (0: indistinguishable from real; lower is better)

its point value only (no bootstrap interval: the objective needs one number). The critic is the
one `benchmark` would use (`cli.py tune` finds it); its blandness reference and calibration come
from the validation split too, so a score tuned here is a validation figure, and the leaderboard
on the test contexts stays the held-out check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phrases.errors import UserError

TEMPERATURE, TOP_P = 1.0, 0.95  # the benchmark's defaults (benchmark/options.py)


@dataclass
class ValidationScore:
    """What every trial of a study is scored against, computed once per worker."""

    data: object
    critic: object
    contexts: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        from critics.blandness import fit_blandness
        from metrics import TrainingPatterns
        from phrases.dataset import held_out_halves

        val = self.data.val
        if len(val) < 4:
            raise UserError(f"--objective score: the validation split has {len(val)} phrase(s); it needs at least 4 "
                            "(contexts and a reference): prepare more files or a larger --split")
        pool, ref_index = held_out_halves(len(val), self.seed)
        self.context_index = np.sort(np.random.default_rng(self.seed).choice(pool, size=min(self.contexts, len(pool)),
                                                                             replace=False))
        chosen, ref = val.subset(self.context_index), val.subset(ref_index)
        self.context_tokens = chosen.token_lists("context")
        self.tempos = chosen.arrays["tempo_qpm"]
        self.bars = self.data.config.phrase_bars
        self.patterns = TrainingPatterns.from_split(self.data.train)
        self.blandness = getattr(self.critic, "blandness", None)
        if self.blandness is None:  # a critic from before the bland side: the same fit `benchmark` makes
            self.blandness = fit_blandness(self.data.tokenizer, val, self.patterns, self.bars)
        self.context_fit = getattr(self.critic, "context_fit", None)  # None: a critic without the context side
        ref_contexts, ref_continuations = ref.token_lists("context"), ref.token_lists("continuation")
        self.ref_anomaly = self.critic.analyze(ref_contexts, ref_continuations).anomaly
        self.ref_bland, self.ref_misfit = self._sides(ref_contexts, ref_continuations, ref.arrays["tempo_qpm"])

    def _sides(self, contexts, continuations, tempos) -> tuple[np.ndarray, np.ndarray | None]:
        """(blandness, context misfit or None) of each pair, decoded as every leaderboard row is."""
        from critics.sides import other_sides
        from phrases.decode import decode_phrase

        decoded = [decode_phrase(self.data.tokenizer, c, k, t, self.bars) for c, k, t in zip(contexts, continuations, tempos)]
        return other_sides(self.blandness, self.context_fit, decoded, self.patterns, self.seed)[:2]

    def __call__(self, generator) -> dict[str, float]:
        """{critic_gap, bland_gap, [misfit_gap,] primary_gap} of `generator`'s continuations of the
        contexts."""
        from generators.base import Length
        from metrics import auroc

        continuations = generator.generate(self.context_tokens, Length(bars=self.bars), TEMPERATURE, TOP_P, self.seed)
        anomaly = self.critic.analyze(self.context_tokens, continuations).anomaly
        bland, misfit = self._sides(self.context_tokens, continuations, self.tempos)
        gaps = {"critic_gap": 2 * abs(auroc(anomaly, self.ref_anomaly) - 0.5),
                "bland_gap": 2 * abs(auroc(bland, self.ref_bland) - 0.5)}
        if misfit is not None:
            gaps["misfit_gap"] = 2 * abs(auroc(misfit, self.ref_misfit) - 0.5)
        return {**gaps, "primary_gap": max(gaps.values())}
