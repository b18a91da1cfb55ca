"""The critic interface: what every critic, the VAE and any later one, provides.

    fit(train, val, config) -> None                   trains; logs to MLflow; writes checkpoints
    score(contexts, continuations) -> anomaly          per phrase, higher = stranger
    analyze(contexts, continuations) -> Analysis       anomaly, embedding and components in one pass
    embed(contexts, continuations) -> latent means     (n, d), for Fréchet distance and C2ST
    calibrate(real_val) ; realness(scores)             share of real held-out phrases scoring worse
    save(path) / load(path)                            checkpoints load with torch.load(weights_only=True)

Calibration is shared: `calibrate` scores real validation phrases and keeps their sorted scores;
`realness(s)` = #{real validation phrases with score >= s} / #{real validation phrases}. Real
held-out phrases therefore get realness ~ Uniform(0, 1), mean ~ 0.5; a phrase stranger than every
real one gets 0. It is non-increasing in s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from phrases.errors import UserError

Tokens = Sequence[Sequence[int]]


@dataclass
class Analysis:
    """What one pass of a critic over phrases gives: the anomaly of each, its latent mean, and the
    components the anomaly was made of (name -> one value per phrase)."""

    anomaly: np.ndarray
    embedding: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)


def realness_from(reference: np.ndarray, scores) -> np.ndarray:
    """Share of `reference` scores that are >= each of `scores` (reference need not be sorted)."""
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    if len(ref) == 0:
        raise UserError("the critic is not calibrated (an interrupted training?); train it again with train-critic")
    s = np.asarray(scores, dtype=np.float64)
    return (len(ref) - np.searchsorted(ref, s, side="left")) / len(ref)


class Critic(ABC):
    """A model that rates how strange a continuation is given its context."""

    name: str = "critic"
    calibration: np.ndarray  # sorted anomaly scores of real validation phrases

    @abstractmethod
    def fit(self, train, val, config): ...

    @abstractmethod
    def score(self, contexts: Tokens, continuations: Tokens) -> np.ndarray:
        """Anomaly of each (context, continuation) pair; higher = stranger."""

    @abstractmethod
    def embed(self, contexts: Tokens, continuations: Tokens) -> np.ndarray:
        """Latent means, one row per phrase."""

    def analyze(self, contexts: Tokens, continuations: Tokens) -> Analysis:
        """Anomaly and latent means of each pair; a critic that gets both from one pass overrides it."""
        return Analysis(self.score(contexts, continuations), self.embed(contexts, continuations))

    def calibrate(self, real_val) -> np.ndarray:
        """Score the real phrases of a (validation) split and keep them as the realness reference."""
        if len(real_val) == 0:
            raise UserError("calibration needs at least one real validation phrase; use a larger corpus or another --split")
        scores = self.score(real_val.token_lists("context"), real_val.token_lists("continuation"))
        self.calibration = np.sort(scores.astype(np.float64))
        return self.calibration

    def realness(self, scores) -> np.ndarray:
        """Share of the real validation phrases whose anomaly is >= each score (0 = stranger than all)."""
        return realness_from(getattr(self, "calibration", np.zeros(0)), scores)

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: str = "auto") -> Critic: ...
