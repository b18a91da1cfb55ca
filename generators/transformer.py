"""A decoder-only transformer from x-transformers (`TransformerWrapper` + `Decoder`).

Rotary positions (Su et al., 2021), so the KV cache keeps working past `max_seq_len`, and
flash attention through torch's `scaled_dot_product_attention` where the build has it.

Default size, chosen for a 2-core CPU and a 15-minute budget: 4 layers, width 256, 4 heads,
~3.3 M parameters; measured here at ~3,800 training tokens/s (ARCHITECTURE.md, "Reference
numbers"), about 40% of the fp32 matmul peak in model FLOPs (`cli.py speed` prints the current figure). Every size is a
`--model-opt`.

Generation mirrors `x_transformers.AutoregressiveWrapper.generate` (left-aligned prompts are
right-aligned and masked with `seq_start_pos`; the KV cache is reused between steps) but stops
each sequence on its own length in bars or notes, which the wrapper cannot. Users have reported
cache bugs upstream, so tests check cached greedy decoding against uncached.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from x_transformers import Decoder, TransformerWrapper
from x_transformers.autoregressive_wrapper import align_right

from generators.autoregressive import AutoregressiveGenerator
from generators.base import Length
from generators.sampling import StopTracker, max_new_tokens, sample_next
from phrases.errors import UserError
from training.options import require


@dataclass
class TransformerConfig:
    dim: int = 256
    depth: int = 4
    heads: int = 4
    max_seq_len: int = 1024
    dropout: float = 0.1
    ff_mult: int = 4

    def __post_init__(self) -> None:
        require(self, positive=("dim", "depth", "heads", "max_seq_len", "ff_mult"), fractions=("dropout",))
        if self.dim % self.heads:
            raise UserError(f"--model-opt dim={self.dim}: must be a multiple of heads={self.heads}")


class TransformerModel(nn.Module):
    def __init__(self, vocab_size: int, cfg: TransformerConfig) -> None:
        super().__init__()
        self.net = TransformerWrapper(
            num_tokens=vocab_size,
            max_seq_len=cfg.max_seq_len,
            use_abs_pos_emb=False,
            emb_dropout=cfg.dropout,
            attn_layers=Decoder(
                dim=cfg.dim, depth=cfg.depth, heads=cfg.heads, rotary_pos_emb=True,
                attn_flash=hasattr(torch.nn.functional, "scaled_dot_product_attention"),
                attn_dropout=cfg.dropout, ff_dropout=cfg.dropout, ff_mult=cfg.ff_mult,
            ),
        )

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.net(ids)


class TransformerGenerator(AutoregressiveGenerator):
    name = "transformer"
    config_class = TransformerConfig
    quick_options = {"dim": 128, "depth": 2, "heads": 4}
    search_space = {  # every dim is a multiple of every heads
        "dim": ("choice", [64, 128, 192, 256]), "depth": ("int", 1, 4), "heads": ("choice", [2, 4]),
        "dropout": ("float", 0.0, 0.3), "lr": ("log", 3e-4, 1e-2), "warmup_steps": ("int", 0, 200, 10),
        "batch_size": ("choice", [8, 16, 32]),
    }

    def build_model(self) -> nn.Module:
        return TransformerModel(self.vocab.size, self.config)

    def sample_batch(self, prompts, length: Length, temperature, top_p, generator, max_tokens=None, prefix=(), use_cache=True):
        net = self.model.net
        lens = torch.tensor([len(p) for p in prompts], device=self.device)
        out = torch.full((len(prompts), int(lens.max())), self.vocab.pad, dtype=torch.long, device=self.device)
        for i, p in enumerate(prompts):
            out[i, : len(p)] = torch.tensor(p, device=self.device)
        out = align_right(out, lens, pad_id=self.vocab.pad)
        seq_start_pos = out.shape[1] - lens
        tracker = StopTracker(self.vocab, length, len(prompts), max_tokens or max_new_tokens(length), prefix)
        cache = None
        while True:
            logits, intermediates = net(out, return_intermediates=True, cache=cache, seq_start_pos=seq_start_pos)
            if use_cache:
                cache = intermediates
            tok = sample_next(tracker.allowed(logits[:, -1]), temperature, top_p, generator)
            if tracker.push(tok.cpu().numpy()).all():
                return tracker.tokens
            out = torch.cat([out, tok[:, None]], dim=1)
