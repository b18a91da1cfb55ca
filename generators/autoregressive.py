"""What the autoregressive generators share: next-token cross-entropy for the training engine,
teacher-forced NLL, batched sampling to a length. A subclass gives its network (`build_model`:
ids (B, L) -> logits (B, L, V)) and how to sample a batch (`sample_batch`); training, checkpoints
and MLflow come from `training.TrainableModel`."""

from __future__ import annotations

from abc import abstractmethod
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from generators.base import Generator, Length
from generators.sampling import forced_prefix
from phrases.errors import UserError
from phrases.sequences import split_sequences
from phrases.unigram import Unigram
from training import TrainableModel, batches, pad_batch


def token_nll(model: torch.nn.Module, batch: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position NLL (nats) of batch[:, 1:] given batch[:, :-1], zero at padding, and the mask
    of real targets."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    nll = F.cross_entropy(model(inputs).transpose(1, 2).float(), targets, reduction="none")
    mask = targets != pad
    return nll * mask, mask


class AutoregressiveGenerator(TrainableModel, Generator):
    """Base of token-by-token generators trained by maximum likelihood on BOS + context +
    continuation + EOS."""

    role = "generator"
    best_metric_name = "val_nll"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and "kind" not in cls.__dict__:
            cls.kind = cls.name  # a generator's checkpoints are of its own name

    @abstractmethod
    def sample_batch(
        self, prompts: list[list[int]], length: Length, temperature: float, top_p: float,
        generator: torch.Generator, max_tokens: int | None = None, prefix: Sequence[int] = (),
    ) -> list[list[int]]:
        """Continuations of `prompts` (each BOS + context ids + `prefix`), each at most
        `max_tokens` long (default: `sampling.max_new_tokens(length)`) and starting with `prefix`."""

    @classmethod
    def from_checkpoint(cls, kind: str, checkpoint, run_id: str, config=None, device="auto"):
        """`--init-from RUN_ID`: the generator as training run `run_id` (of this same generator)
        left it, to train the phases after maximum likelihood on (`checkpoint()` fetches its best.pt
        once the kind is known to fit; `config` is the run's own)."""
        if kind != cls.name:
            raise UserError(f"--init-from {run_id}: a {kind or 'untagged'!r} run; give a run of {cls.name}")
        generator = cls.load(checkpoint(), device)
        generator.init_from = run_id
        return generator

    # -- the training engine's interface ---------------------------------------------------------
    def training_loss(self, batch, step):
        nll, mask = token_nll(self.model, batch, self.pad_id)
        return nll.sum(), mask.sum()

    def validation_metrics(self, val_split) -> dict[str, float]:
        """val_nll: mean NLL per target token (nats) over the split's sequences, teacher-forced."""
        total, count = 0.0, 0
        for nll in self.sequence_nll(self.training_sequences(val_split)):
            total += float(nll.sum())
            count += len(nll)
        return {"val_nll": total / max(count, 1)}

    def baseline_metrics(self, train_split, val_split) -> dict[str, float]:
        """unigram_val_nll: the unigram baseline (`phrases.Unigram`) on the same targets as val_nll."""
        targets = [s[1:] for s in self.training_sequences(val_split)]
        return {"unigram_val_nll": Unigram.fit(train_split, self.vocab).mean_nll(targets)}

    # -- the generator interface -----------------------------------------------------------------
    @torch.no_grad()
    def sequence_nll(self, seqs: list[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
        """Per-target NLL (nats) of each sequence (its tokens after the first), teacher-forced."""
        was_training = self.model.training
        self.model.eval()
        out: list[np.ndarray] = [np.zeros(0)] * len(seqs)
        for idx in batches(seqs, batch_size, seed=0, shuffle=False):
            nll, _ = token_nll(self.model, pad_batch([seqs[i] for i in idx], self.pad_id).to(self.device), self.pad_id)
            nll = nll.cpu().numpy()
            for row, i in enumerate(idx):
                out[i] = nll[row, : len(seqs[i]) - 1].astype(np.float64)
        self.model.train(was_training)
        return out

    def nll(self, phrases, batch_size: int = 32) -> list[np.ndarray]:
        """Per-token NLL (nats) of each continuation and its EOS, given BOS + context."""
        seqs = split_sequences(phrases, self.vocab.bos, self.vocab.eos)
        ctx_len = [len(c) for c in phrases.token_lists("context")]
        # targets are seq[1:]; the continuation starts at target index len(context)
        return [nll[n:] for nll, n in zip(self.sequence_nll(seqs, batch_size), ctx_len)]

    @torch.no_grad()
    def generate(
        self,
        contexts: Sequence[Sequence[int]],
        length: Length,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        batch_size: int = 64,
    ) -> list[list[int]]:
        """Continuations, in batches of `batch_size`; the same seed gives the same tokens. Each
        starts at a bar line (`sampling.forced_prefix`)."""
        self.model.eval()
        prefix = forced_prefix(self.vocab)
        out: list[list[int]] = []
        for start in range(0, len(contexts), batch_size):
            gen = torch.Generator(device=self.device).manual_seed(seed + start)
            prompts = [[self.vocab.bos, *map(int, c), *prefix] for c in contexts[start : start + batch_size]]
            out += self.sample_batch(prompts, length, temperature, top_p, gen, prefix=prefix)
        return out
