"""Fine-tuning a trained generator against a critic (`train-generator NAME --against-critic`).

A phase of the training engine (`training.phases`) after the generator's own training: each
update samples a continuation of a batch of TRAINING contexts from the policy itself, rewards it
with the critic's worst-side realness (`adversarial.reward`), and takes one policy-gradient step
with a KL leash to the starting model (`generators.policy_gradient`: REINFORCE with the batch-mean
baseline, Williams 1992; KL penalty of Ziegler et al., 2019). Steps are the budget. Every
`val_every` updates (and before the first) the gameability figures are measured on validation
contexts (`adversarial.gameability`) and logged. The run is a generator training like any other
(one MLflow run, `--resume`, checkpoints), tagged `init_from` (the run it started from) and
`optimized_against` (the sha256 of the critic's file), so `benchmark` finds it as a row of its own
and ranks it by the rule for rows optimized against the primary critic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from generators.policy_gradient import (continuation_length, frozen_copy, pair_batch, policy_gradient_update,
                                        sample_cap, sample_policy)
from phrases.errors import UserError
from training.options import require
from training.phases import Phase


@dataclass
class AttackConfig:
    """The fine-tuning's options (`--attack-opt key=value`)."""

    steps: int = 200  # policy-gradient updates: the budget
    batch: int = 16  # training contexts per update
    lr: float = 1e-4
    kl_weight: float = 0.05
    grad_clip: float = 1.0
    val_every: int = 50
    val_contexts: int = 64  # validation contexts of the gameability figures
    n_boot: int = 50

    def __post_init__(self) -> None:
        require(self, positive=("steps", "batch", "lr", "grad_clip", "val_every", "n_boot"),
                non_negative=("kl_weight",), flag="--attack-opt")
        if self.val_contexts < 2:
            raise UserError(f"--attack-opt val_contexts={self.val_contexts}: give at least 2")


class CriticPhase(Phase):
    """Policy gradient toward `reward` with a KL leash; best.pt is the last policy."""

    name = "against_critic"
    keep_last = True

    def __init__(self, generator, data, reward, gameability, config: AttackConfig, seed: int, critic_sha: str) -> None:
        self.generator, self.reward, self.gameability, self.config = generator, reward, gameability, config
        self.val_split, self.seed = data.val, seed
        self.steps, self.val_every = config.steps, config.val_every
        train = data.train
        self.contexts, self.real = train.token_lists("context"), train.token_lists("continuation")
        self.tempos = train.arrays["tempo_qpm"]
        self.pair_lengths = [len(a) + len(b) for a, b in zip(self.contexts, self.real)]
        self.length = continuation_length(train, generator.vocab)
        self.max_tokens = sample_cap(self.real)
        self.tags = {"optimized_against": critic_sha}
        self.reference = self.optimizer = None
        self.at, self.history = 0, []

    def _optimizer(self):
        return torch.optim.AdamW(self.generator.model.parameters(), lr=self.config.lr, weight_decay=0.0,
                                 betas=(0.9, 0.95))

    def start(self, seed: int) -> dict[str, float]:
        self.reference, self.optimizer = frozen_copy(self.generator.model), self._optimizer()
        self.at, self.history = 0, []
        self.generator.model.eval()
        with torch.no_grad():
            figures = self.validate()  # step 0: the starting model
        self.generator.model.train()
        return figures

    def step(self, i: int) -> dict[str, float]:
        c = self.config
        idx = pair_batch(i, len(self.contexts), c.batch, self.seed, self.pair_lengths)
        contexts = [self.contexts[j] for j in idx]
        samples = sample_policy(self.generator, contexts, self.length, self.max_tokens, self.seed * 100_003 + i)
        rewards = self.reward(contexts, samples, self.tempos[idx])
        m = policy_gradient_update(self.generator, self.reference, self.optimizer, contexts, samples, rewards,
                                   c.kl_weight, c.grad_clip)
        self.at = i + 1
        return {**m, "reward": float(np.mean(rewards)), "tokens": float(sum(len(s) for s in samples))}

    def validate(self) -> dict[str, float]:
        figures = {"val_nll": self.generator.validation_metrics(self.val_split)["val_nll"],
                   **self.gameability(self.generator, f"step {self.at}")}
        self.history = [h for h in self.history if h["step"] != self.at] + [{"step": self.at, **figures}]
        return figures

    def state(self) -> dict:
        return {"reference": self.reference.state_dict(), "optimizer": self.optimizer.state_dict(), "at": self.at,
                "history": json.dumps(self.history)}

    def restore(self, state: dict) -> None:
        self.reference, self.optimizer = frozen_copy(self.generator.model), self._optimizer()
        self.reference.load_state_dict(state["reference"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.at, self.history = int(state["at"]), json.loads(state["history"])
