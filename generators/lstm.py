"""The LSTM baseline: token embedding, a multi-layer LSTM, a linear head.

Sized by default like the classic 3 x 512 baseline (e.g. the CSC413 report's LSTM):
3 layers of 512 units, 512-dimensional embeddings, ~6.7 M parameters with REMI's vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from generators.autoregressive import AutoregressiveGenerator
from generators.base import Length
from generators.sampling import StopTracker, max_new_tokens, sample_next
from training import pad_batch
from training.options import require


@dataclass
class LSTMConfig:
    d_embed: int = 512
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.2

    def __post_init__(self) -> None:
        require(self, positive=("d_embed", "hidden", "layers"), fractions=("dropout",))


class LSTMModel(nn.Module):
    def __init__(self, vocab_size: int, cfg: LSTMConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.d_embed)
        self.lstm = nn.LSTM(cfg.d_embed, cfg.hidden, cfg.layers, batch_first=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None) -> torch.Tensor:
        out, _ = self.lstm(self.drop(self.embed(ids)), state)
        return self.head(self.drop(out))

    def step(self, ids: torch.Tensor, state):
        """One token per row -> (logits (B, V), new state)."""
        out, state = self.lstm(self.embed(ids[:, None]), state)
        return self.head(out[:, 0]), state

    def prime(self, prompts: torch.Tensor, lengths: torch.Tensor):
        """Run right-padded prompts; -> (logits after each prompt's last token, state)."""
        packed = pack_padded_sequence(self.embed(prompts), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        last = out[torch.arange(len(lengths)), lengths.to(out.device) - 1]
        return self.head(last), state


class LSTMGenerator(AutoregressiveGenerator):
    name = "lstm"
    config_class = LSTMConfig
    quick_options = {"d_embed": 128, "hidden": 256, "layers": 2}
    search_space = {
        "d_embed": ("choice", [64, 128, 256, 512]), "hidden": ("choice", [128, 256, 512]), "layers": ("int", 1, 3),
        "dropout": ("float", 0.0, 0.4), "lr": ("log", 3e-4, 1e-2), "warmup_steps": ("int", 0, 200, 10),
        "batch_size": ("choice", [8, 16, 32]),
    }

    def build_model(self) -> nn.Module:
        return LSTMModel(self.vocab.size, self.config)

    def sample_batch(self, prompts, length: Length, temperature, top_p, generator, max_tokens=None, prefix=()) -> list[list[int]]:
        x = pad_batch(prompts, self.vocab.pad).to(self.device)
        lengths = torch.tensor([len(p) for p in prompts])
        logits, state = self.model.prime(x, lengths)
        tracker = StopTracker(self.vocab, length, len(prompts), max_tokens or max_new_tokens(length), prefix)
        while True:
            tok = sample_next(tracker.allowed(logits), temperature, top_p, generator)
            if tracker.push(tok.cpu().numpy()).all():
                return tracker.tokens
            logits, state = self.model.step(tok, state)
