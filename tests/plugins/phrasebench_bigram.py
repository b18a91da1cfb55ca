"""A test-only third-party generator, registered through the `phrasebench.generators` entry-point
group (see the dist-info folder beside it): a bigram model, the next token from the current one."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from generators.autoregressive import AutoregressiveGenerator
from generators.sampling import StopTracker, max_new_tokens, sample_next


@dataclass
class BigramConfig:
    dim: int = 16


class BigramModel(nn.Module):
    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))


class BigramGenerator(AutoregressiveGenerator):
    name = "bigram"
    config_class = BigramConfig
    search_space = {"dim": ("choice", [4, 8, 16, 32]), "lr": ("log", 1e-4, 3e-1)}  # a plug-in's own

    def build_model(self) -> nn.Module:
        return BigramModel(self.vocab.size, self.config.dim)

    def sample_batch(self, prompts, length, temperature, top_p, generator, max_tokens=None, prefix=()):
        last = torch.tensor([p[-1] for p in prompts], device=self.device)
        tracker = StopTracker(self.vocab, length, len(prompts), max_tokens or max_new_tokens(length), prefix)
        while True:
            tok = sample_next(tracker.allowed(self.model(last)), temperature, top_p, generator)
            if tracker.push(tok.cpu().numpy()).all():
                return tracker.tokens
            last = tok
