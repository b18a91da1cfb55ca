"""Policy-gradient updates of an autoregressive generator toward a reward given to whole sampled
continuations: shared by the gan's adversarial phase (reward: its discriminator) and fine-tuning
against a critic (reward: the critic's verdict, `adversarial.finetune`).

Method: REINFORCE (Williams, 1992) with the batch mean of the rewards as the baseline, a
sequence-level reward as in SeqGAN (Yu et al., 2017) without its Monte Carlo rollouts, and a leash
to the frozen starting model: `kl_weight` x the per-token KL(p_policy || p_start) over the sampled
continuations, computed exactly over the vocabulary at each position (the KL penalty of Ziegler et
al., 2019, "Fine-Tuning Language Models from Human Preferences"). Optionally `mle_weight` x the
teacher-forced NLL of real pairs of the same batch (the MLE-mixed objective of MaskGAN / LeakGAN).
Advantages are not divided by their standard deviation, so equal rewards move nothing. The
gradient covers the kept tokens of each sample; the decision to stop gets none.

Samples come from the policy itself (temperature 1, no nucleus), each continuing its context from
the bar line `generate()` starts at, so the policy trained is exactly the sampler `generate()` uses.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generators.autoregressive import token_nll
from generators.base import Length
from generators.sampling import forced_prefix
from phrases.errors import UserError
from training import batches, pad_batch


def frozen_copy(model: nn.Module) -> nn.Module:
    """The starting model of the KL leash: a copy in eval mode without gradients."""
    reference = copy.deepcopy(model).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return reference


def continuation_length(split, vocab) -> Length:
    """The length of the real continuations, in bars (the median over the split)."""
    conts = split.token_lists("continuation")
    if vocab.is_bar.any():
        bars = np.median([vocab.is_bar[c].sum() for c in conts])
    else:
        bars = np.median([vocab.shift_beats[c].sum() / 4 for c in conts])
    return Length(bars=max(1, int(round(float(bars)))))


def sample_cap(continuations) -> int:
    """Most tokens a sampled continuation may have: 1.25 x the 99th percentile of the real ones
    (an untrained generator that never closes its bars stops there)."""
    return int(1.25 * np.percentile([len(c) for c in continuations], 99)) + 8


def pair_batch(i: int, n_pairs: int, batch_size: int, seed: int, pair_lengths: list[int]) -> np.ndarray:
    """The indices of update `i`'s batch: length-bucketed batches of the (context, continuation)
    pairs, reshuffled every pass, a function of (seed, i) alone (so a resumed phase takes the same
    batches)."""
    placeholders = [np.zeros(n, np.int8) for n in pair_lengths]
    per_pass = len(batches(placeholders, batch_size, seed + 1000))
    return np.asarray(batches(placeholders, batch_size, seed + 1000 + i // per_pass)[i % per_pass])


@torch.no_grad()
def sample_policy(generator, contexts, length: Length, max_tokens: int, seed: int) -> list[list[int]]:
    """One continuation per context from the policy itself (temperature 1, no nucleus)."""
    generator.model.eval()
    gen = torch.Generator(device=generator.device).manual_seed(seed)
    prefix = forced_prefix(generator.vocab)  # as generate() does: samples start at the bar line too
    prompts = [[generator.vocab.bos, *map(int, c), *prefix] for c in contexts]
    return generator.sample_batch(prompts, length, 1.0, 1.0, gen, max_tokens=max_tokens, prefix=prefix)


@contextmanager
def no_dropout(model: nn.Module):
    """Training mode (cuDNN RNNs only backpropagate in it) with every dropout rate at 0, so the
    policy gradient is taken on the very policy that sampled."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            saved.append((m, "p", m.p))
            m.p = 0.0
        elif isinstance(getattr(m, "dropout", None), float):  # nn.LSTM / nn.GRU, x-transformers Attend
            saved.append((m, "dropout", m.dropout))
            m.dropout = 0.0
    was_training = model.training
    model.train()
    try:
        yield model
    finally:
        for m, attr, value in saved:
            setattr(m, attr, value)
        model.train(was_training)


def policy_gradient_update(generator, reference: nn.Module, optimizer, contexts, samples, rewards: np.ndarray,
                           kl_weight: float, grad_clip: float, mle_weight: float = 0.0, real=None) -> dict[str, float]:
    """One update of `generator.model`: -(reward - mean reward) x log p(sample), + `kl_weight` x KL
    to `reference`, + `mle_weight` x the NLL of `real` continuations of the same contexts. Returns
    `pg_loss`, `kl`, and with `real` `train_loss` (that NLL) and `real_tokens`."""
    k, device = generator.vocab, generator.device
    seqs = [np.array([k.bos, *map(int, ctx), *s], dtype=np.int64) for ctx, s in zip(contexts, samples)]
    batch = pad_batch(seqs, k.pad).to(device)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    pos = torch.arange(targets.shape[1], device=device)[None]
    start = torch.tensor([len(ctx) for ctx in contexts], device=device)[:, None]
    stop = start + torch.tensor([len(s) for s in samples], device=device)[:, None]
    mask = ((pos >= start) & (pos < stop)).float()
    n = mask.sum().clamp(min=1.0)
    rewards = np.asarray(rewards, dtype=np.float64)
    advantage = torch.as_tensor(rewards - rewards.mean(), dtype=torch.float32, device=device)
    metrics: dict[str, float] = {}
    with no_dropout(generator.model):
        logp = F.log_softmax(generator.model(inputs).float(), -1)
        tok_logp = logp.gather(-1, targets[..., None]).squeeze(-1)
        pg_loss = -(advantage[:, None] * tok_logp * mask).sum() / n
        with torch.no_grad():
            ref_logp = F.log_softmax(reference(inputs).float(), -1)
        kl = ((logp.exp() * (logp - ref_logp)).sum(-1) * mask).sum() / n
        loss = pg_loss + kl_weight * kl
        if real is not None and mle_weight > 0:
            real_batch = pad_batch([np.array([k.bos, *map(int, ctx), *map(int, r), k.eos], dtype=np.int64)
                                    for ctx, r in zip(contexts, real)], k.pad).to(device)
            nll, real_mask = token_nll(generator.model, real_batch, k.pad)
            mle = nll.sum() / real_mask.sum()
            loss = loss + mle_weight * mle
            metrics.update({"train_loss": mle.item(), "real_tokens": float(real_mask.sum().item())})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(generator.model.parameters(), grad_clip)
        optimizer.step()
    metrics.update({"pg_loss": pg_loss.item(), "kl": kl.item()})
    return {key: finite(key, v) for key, v in metrics.items()}


def finite(name: str, value: float) -> float:
    if not np.isfinite(value):
        raise UserError(f"policy gradient: {name} became {value}; lower the learning rate (--model-opt gen_lr, "
                        "or the fine-tuning's lr) and train again")
    return value
