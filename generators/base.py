"""The generator interface: what every generator, built-in or plugged in, provides.

    __init__(tokenizer, config=None, device="auto", seed=0)   built on one device, seeded weights
    fit(train, val, config) -> training.FitResult   trains; logs to MLflow; writes checkpoints
    nll(phrases) -> per-token NLL (nats)      teacher-forced, continuation tokens given context
    generate(contexts, length, temperature, top_p, seed) -> list[list[int]]
    save(path) / load(path, device)           checkpoints load with torch.load(weights_only=True)

The simplest way to write one is to subclass `generators.autoregressive.AutoregressiveGenerator`
(a network and a sampler; the training engine does the rest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from phrases.errors import UserError


@dataclass(frozen=True)
class Length:
    """How much to generate: a number of bars or of notes (exactly one is set)."""

    bars: int | None = None
    notes: int | None = None

    def __post_init__(self) -> None:
        if (self.bars is None) == (self.notes is None):
            raise UserError("give a length in bars (--bars N) or in notes (--notes N), not both")
        if (self.bars or self.notes or 0) < 1:
            raise UserError("--bars / --notes must be at least 1")


class Generator(ABC):
    """A model that continues phrase contexts. Registered by name (`generators.registry`)."""

    name: str = "generator"
    config_class: type
    # What `cli.py tune` searches: parameter -> ("int", low, high[, step]) | ("float", low, high) |
    # ("log", low, high) (log-uniform) | ("choice", [values]). A parameter is a field of
    # `config_class` (a --model-opt) or a training option (lr, batch_size, warmup_steps,
    # weight_decay). Empty: the generator cannot be tuned. A plug-in declares its own.
    search_space: dict = {}
    # The sizes `benchmark --quick` (make demo) trains it at (--model-opt values), for minutes
    # rather than quality; empty: its defaults.
    quick_options: dict = {}

    @abstractmethod
    def fit(self, train, val, config): ...

    @abstractmethod
    def nll(self, phrases) -> list[np.ndarray] | None:
        """Per-token NLL (nats) of each phrase's continuation (and end token) given its context;
        None where the model defines no likelihood."""

    @abstractmethod
    def generate(
        self,
        contexts: Sequence[Sequence[int]],
        length: Length,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
    ) -> list[list[int]]:
        """Continuation token ids for each context (an empty context: from scratch)."""

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, path: Path, device: str = "auto") -> Generator: ...
