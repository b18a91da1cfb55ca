"""What every sampler shares: top-p sampling, and when to stop (token facts: `phrases.Vocab`)."""

from __future__ import annotations

import numpy as np
import torch

from generators.base import Length
from phrases.vocab import Vocab


class StopTracker:
    """Decides, token by token, when each sequence of a batch has its requested length.

    Bars: REMI counts Bar tokens (a continuation opens with one); a sampled Bar token past the
    last bar ends the sequence and is not kept. Without Bar tokens (TSD), 4 beats of TimeShift
    make a bar. Notes: the sequence ends after the Duration of its N-th note (or before an
    (N+1)-th Pitch). `max_tokens` bounds every sequence.

    `allowed(logits)` masks what may not be sampled next: PAD and BOS never, EOS only once a
    sequence has its length. So a model trained on shorter phrases (64-note segments, say)
    still gives the N notes asked for, and EOS marks the end it was trained to see.
    """

    def __init__(self, vocab: Vocab, length: Length, batch: int, max_tokens: int, prefix=()) -> None:
        self.vocab, self.length, self.max_tokens = vocab, length, max_tokens
        self.count = np.zeros(batch)  # bars (or beats / 4) or notes so far
        self.tokens = [[] for _ in range(batch)]
        self.done = np.zeros(batch, dtype=bool)
        self.use_bars = length.bars is not None and vocab.is_bar.any()
        self.is_pitch, self.is_duration = vocab.is_pitch, vocab.is_duration
        for tok in prefix:  # tokens the continuation was made to start with (already in the prompt)
            self.push(np.full(batch, tok))

    def allowed(self, logits: torch.Tensor) -> torch.Tensor:
        """`logits` (B, V) with the tokens that may not come next set to -inf."""
        k = self.vocab
        logits = logits.clone()
        logits[:, [k.pad, k.bos]] = float("-inf")
        short = self.count < (self.length.bars if self.length.bars is not None else self.length.notes)
        if short.any():
            logits[torch.from_numpy(short).to(logits.device), k.eos] = float("-inf")
        return logits

    def push(self, sampled: np.ndarray) -> np.ndarray:
        """Take one sampled token per sequence; returns the `done` mask after it."""
        k = self.vocab
        for b, tok in enumerate(sampled):
            if self.done[b]:
                continue
            tok = int(tok)
            if tok in (k.eos, k.pad, k.bos):
                self.done[b] = True
                continue
            if self.length.bars is not None:
                if self.use_bars and k.is_bar[tok]:
                    if self.count[b] >= self.length.bars:
                        self.done[b] = True
                        continue
                    self.count[b] += 1
                elif not self.use_bars:
                    self.count[b] += k.shift_beats[tok] / 4
                    if self.count[b] >= self.length.bars:
                        self.done[b] = True
                        continue
            if self.length.notes is not None and self.is_pitch[tok] and self.count[b] >= self.length.notes:
                self.done[b] = True  # a note past the last one: not kept
                continue
            self.tokens[b].append(tok)
            if self.length.notes is not None:
                self.count[b] += self.is_pitch[tok]
                if self.count[b] >= self.length.notes and self.is_duration[tok]:
                    self.done[b] = True
            if len(self.tokens[b]) >= self.max_tokens:
                self.done[b] = True
        return self.done


def sample_next(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """One token per row from `logits` (B, V): temperature, then nucleus (top-p) sampling
    (Holtzman et al., 2020, "The Curious Case of Neural Text Degeneration").
    Temperature 0 is greedy."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the most likely token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, idx, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def max_new_tokens(length: Length) -> int:
    """A generous cap: 96 tokens a bar (a 4/4 bar of 32nd notes in REMI) or 4 a note."""
    return 96 * length.bars if length.bars is not None else 4 * length.notes + 8


def forced_prefix(vocab: Vocab) -> list[int]:
    """Tokens every continuation starts with: a Bar token where the vocabulary has one, so a
    continuation begins at the bar line that ends its context, as the real ones do."""
    return [int(np.flatnonzero(vocab.is_bar)[0])] if vocab.is_bar.any() else []
