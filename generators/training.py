"""The one training loop of every autoregressive generator (and the critic's conventions).

nanoGPT-style: AdamW, linear warm-up then cosine decay, gradient clipping, padded batches of
phrases bucketed by length, early stopping on validation NLL, a wall-clock budget. After every
epoch `last.pt` is written atomically with everything needed to continue exactly (model,
optimizer, scheduler, RNG state, epoch); `best.pt` holds the best weights by validation NLL.
Batch order depends only on (seed, epoch), so a run resumed from `last.pt` takes the same steps
as one never interrupted.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from generators.checkpoint import load_checkpoint, save_checkpoint


@dataclass
class TrainConfig:
    epochs: int = 10
    max_minutes: float | None = None
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    patience: int = 3
    seed: int = 0
    device: str = "auto"
    checkpoint_dir: Path | None = None  # None: checkpoints/NAME/DATA_HASH
    resume: bool = False
    max_steps: int | None = None  # stop after this many optimizer steps in total (tests, smoke runs)
    log_every: int = 25
    data_hash: str = ""
    corpus: str = ""
    tags: dict = field(default_factory=dict)

    def params(self) -> dict:
        d = asdict(self)
        d.pop("tags")
        d["checkpoint_dir"] = str(self.checkpoint_dir)
        return d


def resolve_device(device: str = "auto") -> torch.device:
    """`auto`: CUDA when present, else CPU. Asking for `cuda` without one is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA device here; use --device cpu or auto")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ValueError(f"--device {device!r}: choose auto, cpu or cuda")
    return torch.device(device)


def sequences(split, bos: int, eos: int) -> list[np.ndarray]:
    """BOS + context + continuation + EOS for every window of a split."""
    ctx, cont = split.token_lists("context"), split.token_lists("continuation")
    return [np.concatenate([[bos], c, d, [eos]]).astype(np.int64) for c, d in zip(ctx, cont)]


def pad_batch(seqs: list[np.ndarray], pad: int) -> torch.Tensor:
    out = torch.full((len(seqs), max(len(s) for s in seqs)), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.from_numpy(np.asarray(s, dtype=np.int64))
    return out


def batches(seqs: list[np.ndarray], batch_size: int, seed: int, shuffle: bool = True) -> list[list[int]]:
    """Index batches: shuffled, then sorted by length inside pools of 50 batches (less padding)."""
    idx = np.random.default_rng(seed).permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    out = []
    pool = batch_size * 50
    for start in range(0, len(idx), pool):
        chunk = sorted(idx[start : start + pool], key=lambda i: len(seqs[i]))
        group = [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
        if shuffle:
            group = [group[i] for i in np.random.default_rng(seed + start).permutation(len(group))]
        out += group
    return out


def token_losses(model: torch.nn.Module, batch: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position NLL (nats) of batch[:, 1:] given batch[:, :-1], and the mask of real targets."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits = model(inputs)
    nll = F.cross_entropy(logits.transpose(1, 2).float(), targets, reduction="none")
    mask = targets != pad
    return nll * mask, mask


@torch.no_grad()
def evaluate(model, seqs, pad: int, device, batch_size: int = 32) -> float:
    """Mean NLL per target token (nats) over `seqs`, teacher-forced."""
    model.eval()
    total, count = 0.0, 0
    for idx in batches(seqs, batch_size, seed=0, shuffle=False):
        batch = pad_batch([seqs[i] for i in idx], pad).to(device)
        nll, mask = token_losses(model, batch, pad)
        total += nll.sum().item()
        count += mask.sum().item()
    model.train()
    return total / max(count, 1)


def unigram_nll(train_seqs, eval_seqs, vocab_size: int) -> float:
    """NLL (nats/token) of a unigram model fitted on the training targets (add-one smoothing),
    on the same targets `evaluate` scores: everything after BOS."""
    counts = np.ones(vocab_size)
    for s in train_seqs:
        np.add.at(counts, s[1:], 1)
    logp = np.log(counts / counts.sum())
    targets = np.concatenate([s[1:] for s in eval_seqs])
    return float(-logp[targets].mean())


def lr_lambda(cfg: TrainConfig, total_steps: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f


@dataclass
class TrainState:
    """What `train` returns: where it ended, and why."""

    epoch: int
    step: int
    best_val_nll: float  # the best validation value: val_nll, or the evaluate_fn's val_key
    val_nll: float
    tokens_per_s: float
    stop_reason: str


def train(
    model: torch.nn.Module,
    train_seqs: list[np.ndarray],
    val_seqs: list[np.ndarray],
    cfg: TrainConfig,
    pad: int,
    checkpoint_extra: Callable[[], dict],
    log: Callable[[dict, int], None] | None = None,
    on_best: Callable[[Path], None] | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    kind: str = "generator",
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]] | None = None,
    evaluate_fn: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    val_key: str = "val_nll",
) -> TrainState:
    """Train `model` (ids (B, L) -> logits (B, L, V)) on padded sequences.

    `checkpoint_extra()` gives what else a checkpoint holds (model config, tokenizer, ...);
    `log(metrics, step)` receives train_loss / val_nll / best_val_nll / tokens_per_s.

    Models that are not plain next-token predictors (the VAE critic) pass
    `loss_fn(model, batch, step) -> (loss_sum, n_tokens)`, minimised as loss_sum / n_tokens, and
    `evaluate_fn(model) -> metrics` run after every epoch; `metrics[val_key]` (lower is better)
    then takes the place of val_nll for early stopping and best.pt, and every metric is logged
    with `best_<val_key>`. Without them the loop is the generators' token cross-entropy.
    """
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    steps_per_epoch = len(batches(train_seqs, cfg.batch_size, cfg.seed))
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg, total_steps))
    ckpt_dir = Path(cfg.checkpoint_dir)
    last_path, best_path = ckpt_dir / "last.pt", ckpt_dir / "best.pt"
    epoch, step, best, bad_epochs = 0, 0, float("inf"), 0
    if cfg.resume:
        state = load_checkpoint(last_path, kind=kind, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"])
        epoch, step, best = state["epoch"], state["step"], state["best_val_nll"]
        bad_epochs = state["bad_epochs"]

    def write_last():
        save_checkpoint(
            {
                "kind": kind, "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng_cpu": torch.get_rng_state(),
                **({"rng_cuda": torch.cuda.get_rng_state()} if device.type == "cuda" else {}),
                "epoch": epoch, "step": step, "best_val_nll": best, "bad_epochs": bad_epochs,
                "data_hash": cfg.data_hash, **checkpoint_extra(),
            },
            last_path,
        )

    started = time.perf_counter()
    deadline = started + cfg.max_minutes * 60 if cfg.max_minutes else None
    tokens_seen, tok_time = 0, 0.0
    val_nll, stop_reason = float("nan"), "epochs"
    while epoch < cfg.epochs:
        order = batches(train_seqs, cfg.batch_size, cfg.seed + epoch)
        running, running_n = 0.0, 0
        for i, idx in enumerate(order):
            t0 = time.perf_counter()
            batch = pad_batch([train_seqs[j] for j in idx], pad).to(device, non_blocking=True)
            if loss_fn is None:
                nll, mask = token_losses(model, batch, pad)
                loss_sum, n_tok = nll.sum(), mask.sum()
            else:
                loss_sum, n_tok = loss_fn(model, batch, step)
            loss = loss_sum / n_tok
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            step += 1
            loss_value = loss.item()  # syncs CUDA, so the timing below is real
            tok_time += time.perf_counter() - t0
            tokens_seen += int(n_tok)
            running += loss_value
            running_n += 1
            tps = tokens_seen / max(tok_time, 1e-9)
            if progress:
                progress(i + 1, len(order), loss_value, tps)
            if log and step % cfg.log_every == 0:
                log({"train_loss": running / running_n, "tokens_per_s": tps, "lr": sched.get_last_lr()[0]}, step)
                running, running_n = 0.0, 0
            if deadline and time.perf_counter() > deadline:
                stop_reason = "max_minutes"
                break
            if cfg.max_steps and step >= cfg.max_steps:
                stop_reason = "max_steps"
                break
        epoch += 1
        if evaluate_fn is None:
            val_metrics = {"val_nll": evaluate(model, val_seqs, pad, device)}
        else:
            val_metrics = evaluate_fn(model)
            model.train()
        val_nll = val_metrics[val_key]
        if val_nll < best:
            best, bad_epochs = val_nll, 0
            save_checkpoint({"kind": kind, "model": model.state_dict(), "epoch": epoch, "step": step,
                             "best_val_nll": best, "data_hash": cfg.data_hash, **checkpoint_extra()}, best_path)
            if on_best:
                on_best(best_path)
        else:
            bad_epochs += 1
        write_last()
        if log:
            log({**val_metrics, f"best_{val_key}": best, "epoch": epoch}, step)
        if stop_reason != "epochs":
            break
        if bad_epochs >= cfg.patience:
            stop_reason = "early_stopping"
            break
    return TrainState(epoch, step, best, val_nll, tokens_seen / max(tok_time, 1e-9), stop_reason)


def set_threads() -> None:
    """Use every core for intra-op parallelism (torch defaults to physical cores only), or
    `PHRASEBENCH_THREADS` of them."""
    torch.set_num_threads(int(os.environ.get("PHRASEBENCH_THREADS") or os.cpu_count() or 1))

