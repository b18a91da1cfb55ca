"""The one training loop of every trainable model, generators and critics alike.

nanoGPT-style: AdamW, linear warm-up then cosine decay, gradient clipping, padded batches of
phrases bucketed by length, early stopping, a step budget and a wall-clock cap. The model says
what its loss is and what its validation metrics are (`Trainable`); the loop keeps the best
state by the metric the model names (`best_metric_name`, lower is better), as AudioCraft's
solvers do. After every epoch `last.pt` is written atomically with everything needed to
continue exactly (model, optimizer, scheduler, RNG state, epoch); `best.pt` holds the best
weights. Batch order depends only on (seed, epoch), so a run resumed from `last.pt` takes the
same steps as one never interrupted.

Under torchrun (`training.distributed`) the same loop trains with DistributedDataParallel: each
rank takes its share of every global batch of `batch_size x world` phrases, the per-token loss
is normalised by the tokens of the whole global batch, rank 0 validates, logs and writes the
checkpoints. In one process (`distributed.active()` is None) none of that code runs.

With `val_every` the model is also validated every that many steps within an epoch (a
validation curve for a short budget; best.pt follows it, early stopping still counts epochs).
Whoever wants to watch every validation of every training in a block (a hyper-parameter search
that prunes a hopeless trial) registers an observer with `observe_validation`; an observer that
returns a reason stops the training there, as cleanly as a step budget does (one process only).
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from training.batching import batches, pad_batch
from training.checkpoint import kept_checkpoint, load_checkpoint, save_checkpoint
from training.distributed import DataParallel, active
from training.options import TrainConfig  # defined with its command-line options


class Trainable(Protocol):
    """What the loop needs from a model."""

    kind: str  # the checkpoint kind, checked on load
    best_metric_name: str  # the validation metric that picks best.pt (lower is better)
    model: torch.nn.Module
    device: torch.device
    pad_id: int

    def training_loss(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss summed over the batch, number of tokens it covers) for padded sequences."""

    def validation_metrics(self, val) -> dict[str, float]:
        """Every validation metric, `best_metric_name` among them (the model in eval mode)."""

    def checkpoint_state(self) -> dict:
        """What a checkpoint holds besides the weights: config, tokenizer, run id, ..."""


@dataclass
class TrainState:
    """What `train` returns: where it ended, and why."""

    epoch: int
    step: int
    metric: str  # the model's best_metric_name
    best: float  # its best value
    last: dict[str, float]  # the last validation metrics
    tokens_per_s: float
    stop_reason: str


# Observers of every validation (`observe_validation`): fn(val_metrics, step) -> a stop reason or None.
_observers: list[Callable[[dict, int], str | None]] = []


@contextmanager
def observe_validation(fn: Callable[[dict, int], str | None]):
    """Within the block, `fn(val_metrics, step)` is called after every validation of every
    `train` in this process; when it returns a string, that training stops there with it as its
    `stop_reason` (best.pt and last.pt written as at any stop). Not under torchrun."""
    _observers.append(fn)
    try:
        yield fn
    finally:
        _observers.remove(fn)


def _observed(metrics: dict, step: int) -> str | None:
    reasons = [fn(metrics, step) for fn in list(_observers)]
    return next((r for r in reasons if r), None)


def lr_lambda(cfg: TrainConfig, total_steps: int) -> Callable[[int], float]:
    """Linear warm-up over `warmup_steps`, then cosine decay to `min_lr_ratio` at `total_steps`."""
    def f(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f


def train(
    trainable: Trainable,
    train_seqs: list[np.ndarray],
    val,
    cfg: TrainConfig,
    log: Callable[[dict, int], None] | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    checkpointed: Callable[[Path], None] | None = None,
) -> TrainState:
    """Train `trainable.model` on its device over `train_seqs`; `val` is passed to
    `trainable.validation_metrics` after every epoch. `log(metrics, step)` receives train_loss /
    tokens_per_s / lr every `log_every` steps and the validation metrics (with `best_<metric>`)
    every epoch; `progress(done, total, loss, tokens_per_s)` every step; `checkpointed(last.pt)`
    after every epoch's last.pt. Under torchrun, `cfg.batch_size` is per rank, and only rank 0
    touches checkpoint files; pass `log` and `progress` on rank 0 only."""
    model, device, metric = trainable.model, trainable.device, trainable.best_metric_name
    ranks = active()  # None: one process
    main = ranks is None or ranks.main
    torch.manual_seed(cfg.seed + (ranks.rank if ranks else 0))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    global_batch = cfg.batch_size * (ranks.world if ranks else 1)
    steps_per_epoch = len(batches(train_seqs, global_batch, cfg.seed))
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg, total_steps))
    ckpt_dir = Path(cfg.checkpoint_dir) if main else None
    last_path, best_path = (ckpt_dir / "last.pt", ckpt_dir / "best.pt") if main else (None, None)
    epoch, step, best, bad_epochs = 0, 0, float("inf"), 0
    if cfg.resume and ranks is not None:
        state = _resume_state(ranks, last_path, trainable.kind)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        epoch, step, best, bad_epochs = state["epoch"], state["step"], state["best"], state["bad_epochs"]
    elif cfg.resume:
        state = load_checkpoint(last_path, kind=trainable.kind, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"])
        epoch, step, best, bad_epochs = state["epoch"], state["step"], state["best"], state["bad_epochs"]

    def checkpoint(**extra) -> dict:
        return {"kind": trainable.kind, "model": model.state_dict(), "epoch": epoch, "step": step, "best": best,
                "best_metric_name": metric, "data_hash": cfg.data_hash, **trainable.checkpoint_state(), **extra}

    keep = set(cfg.keep_steps)
    if main and step in keep and not cfg.resume:  # step 0: the initial weights
        save_checkpoint(checkpoint(), kept_checkpoint(ckpt_dir, step))
    dp = DataParallel(trainable, ranks) if ranks else None
    started = time.perf_counter()
    deadline = started + cfg.max_minutes * 60 if cfg.max_minutes else None
    tokens_seen, tok_time = 0, 0.0
    val_metrics: dict[str, float] = {}
    validated_at = -1  # the step of a validation within the epoch that stopped the loop
    stop_reason = "epochs"
    while epoch < cfg.epochs:
        order = batches(train_seqs, global_batch, cfg.seed + epoch)
        running, running_n = 0.0, 0
        for i, idx in enumerate(order):
            t0 = time.perf_counter()
            if dp:
                idx, weight = dp.shard(idx)
            batch = pad_batch([train_seqs[j] for j in idx], trainable.pad_id).to(device, non_blocking=True)
            if dp:  # normalised by the global batch's tokens; see training.distributed
                late = bool(deadline and time.perf_counter() > deadline)
                loss, global_loss, n_tok, any_late = dp.loss(batch, step, weight, late)
            else:
                loss_sum, n_tok = trainable.training_loss(batch, step)
                loss = loss_sum / n_tok
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            step += 1
            if main and step in keep:
                save_checkpoint(checkpoint(), kept_checkpoint(ckpt_dir, step))
            loss_value = loss.item()  # syncs CUDA, so the timing below is real
            if dp:
                loss_value = global_loss
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
            if deadline and (any_late if dp else time.perf_counter() > deadline):  # ranks stop together
                stop_reason = "max_minutes"
                break
            if cfg.max_steps and step >= cfg.max_steps:
                stop_reason = "max_steps"
                break
            if cfg.val_every and step % cfg.val_every == 0 and i + 1 < len(order) and not dp:
                model.eval()  # a validation within the epoch (the epoch's own comes after it)
                with torch.no_grad():
                    mid = trainable.validation_metrics(val)
                model.train()
                if mid[metric] < best:
                    best = mid[metric]
                    save_checkpoint(checkpoint(), best_path)
                if log:
                    log({**mid, f"best_{metric}": best}, step)
                reason = _observed(mid, step)
                if reason:
                    stop_reason, val_metrics, validated_at = reason, mid, step
                    break
        if log and running_n:  # the steps since the last log line, so short runs log train_loss too
            log({"train_loss": running / running_n, "tokens_per_s": tokens_seen / max(tok_time, 1e-9),
                 "lr": sched.get_last_lr()[0]}, step)
        epoch += 1
        model.eval()
        with torch.no_grad():  # (an observer that stopped the loop has just seen this step validated)
            val_metrics = val_metrics if validated_at == step else trainable.validation_metrics(val) if main else None
        if dp:  # rank 0's figures everywhere: best.pt and early stopping agree on every rank
            val_metrics = dp.broadcast(val_metrics)
        model.train()
        if val_metrics[metric] < best:
            best, bad_epochs = val_metrics[metric], 0
            if main:
                save_checkpoint(checkpoint(), best_path)
        else:
            bad_epochs += 1
        rng = {"rng_cpu": torch.get_rng_state(),
               **({"rng_cuda": torch.cuda.get_rng_state()} if device.type == "cuda" else {})}
        if dp:  # every rank's generators, for an exact --resume
            per_rank = dp.gather(rng)
            rng = {**rng, **({k + "_ranks": torch.stack([r[k] for r in per_rank]) for k in rng} if main else {})}
        if main:
            save_checkpoint(checkpoint(optimizer=opt.state_dict(), scheduler=sched.state_dict(), bad_epochs=bad_epochs,
                                       **rng), last_path)
            if checkpointed:
                checkpointed(last_path)
        if log:
            log({**val_metrics, f"best_{metric}": best, "epoch": epoch}, step)
        reason = _observed(val_metrics, step) if not dp and validated_at != step else None
        if stop_reason != "epochs":
            break
        if reason:
            stop_reason = reason
            break
        if bad_epochs >= cfg.patience:
            stop_reason = "early_stopping"
            break
    return TrainState(epoch, step, metric, best, val_metrics, tokens_seen / max(tok_time, 1e-9), stop_reason)


def _resume_state(ranks, last_path: Path | None, kind: str) -> dict:
    """last.pt read by rank 0 (on the CPU) and broadcast; every rank then takes back its own RNG
    state (rank 0's when last.pt was written by a different number of processes). A row of the
    stacked states is cloned: torch.set_rng_state needs a tensor of its own (a view crashes it)."""
    box = [load_checkpoint(last_path, kind=kind, map_location="cpu") if ranks.main else None]
    torch.distributed.broadcast_object_list(box, src=0)
    state = box[0]
    for key, setter in (("rng_cpu", torch.set_rng_state), ("rng_cuda", torch.cuda.set_rng_state)):
        per_rank = state.get(key + "_ranks")
        if key in state:
            setter(per_rank[ranks.rank].clone() if per_rank is not None and len(per_rank) == ranks.world else state[key])
    return state
