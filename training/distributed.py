"""Data-parallel training under torchrun: one process per device, DistributedDataParallel (DDP).

`torchrun --nproc-per-node N cli.py train-generator NAME ...` starts N copies of the command with
RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. `session()`
joins them into one process group: gloo on CPU, NCCL on CUDA (one GPU per local rank,
`cuda:LOCAL_RANK`). Without those variables, or with WORLD_SIZE=1, nothing here does anything:
`active()` is None and the training loop runs in one process exactly as before.

What the loop (`training.loop.train`) does with a `DataParallel`:

- batches: every rank computes the same `batches(seqs, batch_size * world, seed + epoch)`, a
  global batch of `world x batch_size` phrases per step, and takes its strided share
  `idx[rank::world]` of each (`shard`). So every rank takes the same number of steps, a step
  sees exactly the phrases that one process with `--batch-size batch_size*world` sees (the
  same learning-rate schedule too), and the shares are of similar length (a global batch is
  length-sorted). A global batch shorter than `world` (the tail of an epoch) leaves some rank
  without a phrase: that rank runs one of the batch's phrases with weight 0, so it still takes
  part in the gradient all-reduce and adds nothing to it.
- the loss (`loss`): a padded batch's loss is summed over its real tokens and divided by their
  number. One process with a global batch divides by the tokens of the whole batch, N; DDP
  averages the ranks' gradients, so dividing each rank's sum by its own token count n_r would
  weight every token by 1/(world x n_r) instead of 1/N (ranks whose phrases are shorter would
  count more). Instead the ranks all-reduce (loss sum, token count) before the backward pass,
  and each rank back-propagates `loss_sum_r x world / N`; DDP's mean over ranks then gives
  sum_r grad(loss_sum_r) / N, the gradient of the global batch's per-token loss, and the
  logged loss is sum_r loss_sum_r / N, the same number one process logs. Clipping, AdamW and
  the scheduler then see identical gradients on every rank.
- validation, checkpoints, MLflow: rank 0 validates and `broadcast`s the metrics, so best.pt
  and early stopping agree on every rank; rank 0 alone writes checkpoints and logs.
- resume: rank 0 reads last.pt and broadcasts it; every rank's RNG state is kept in last.pt
  (`gather`), so a resumed run with the same number of processes continues exactly.

What a model shares (any `training_loss`) needs no change: DDP wraps a small module whose
forward is the model's own `training_loss`, so the models' code never sees DDP.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from phrases.errors import UserError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def from_env() -> Ranks:
    """This process's place among torchrun's processes (rank 0 of 1 when not under torchrun)."""
    return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


def requested() -> bool:
    """Started by torchrun with more than one process."""
    return from_env().world > 1


def is_main() -> bool:
    """Rank 0, or not distributed at all: the process that logs, saves and prints."""
    return from_env().main


def active() -> Ranks | None:
    """The ranks of the process group this process belongs to; None for a single process."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    ranks = Ranks(torch.distributed.get_rank(), torch.distributed.get_world_size(), from_env().local_rank)
    return ranks if ranks.world > 1 else None


def refuse(what: str) -> None:
    """A `UserError` for a command or model that runs in one process only, under torchrun."""
    if requested():
        raise UserError(f"{what} runs in one process; start it with python, not torchrun")


@contextmanager
def session(device: str = "auto"):
    """Under torchrun (WORLD_SIZE > 1): join the process group for the block (gloo on CPU, NCCL on
    CUDA) and yield this rank's device (`cuda:LOCAL_RANK` on CUDA); otherwise yield `device` as
    it is. The group is destroyed after the block."""
    if not requested():
        yield device
        return
    ranks = from_env()
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:  # NCCL: one GPU per local rank (written for CUDA machines; not run on the CPU-only ones here)
        if not torch.cuda.is_available() or ranks.local_rank >= torch.cuda.device_count():
            raise UserError(f"torchrun rank {ranks.rank}: no CUDA device {ranks.local_rank} here; "
                            "start one process per GPU, or use --device cpu")
        torch.cuda.set_device(ranks.local_rank)
        device = f"cuda:{ranks.local_rank}"
    torch.distributed.init_process_group("nccl" if cuda else "gloo")
    try:
        yield device
        # Leave together: a rank that tears its gloo connections down while a peer is still busy
        # (rank 0 still saves and logs at the end of training) was seen to abort ("terminate called without an
        # active exception"). Not on an exception's way out, where a peer may never arrive.
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


class _LossModule(torch.nn.Module):
    """What DDP wraps: forward is the model's own `training_loss`, so DDP sees every parameter
    the loss uses, whatever methods of the network the loss calls."""

    def __init__(self, trainable) -> None:
        super().__init__()
        self.model = trainable.model
        self.loss_fn = trainable.training_loss

    def forward(self, batch: torch.Tensor, step: int):
        return self.loss_fn(batch, step)


class DataParallel:
    """One rank's part of a DDP training: its shard of each global batch, the normalised loss, and
    the collectives the loop needs (see the module docstring)."""

    def __init__(self, trainable, ranks: Ranks) -> None:
        self.ranks, self.device = ranks, trainable.device
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.module = torch.nn.parallel.DistributedDataParallel(_LossModule(trainable), device_ids=ids)

    def shard(self, idx: list[int]) -> tuple[list[int], float]:
        """This rank's strided share of a global batch, and its weight (0: a stand-in phrase for a
        rank left without one, see the module docstring)."""
        mine = list(idx[self.ranks.rank :: self.ranks.world])
        return (mine, 1.0) if mine else (list(idx[:1]), 0.0)

    def loss(self, batch: torch.Tensor, step: int, weight: float, late: bool) -> tuple[torch.Tensor, float, int, bool]:
        """(the loss this rank back-propagates, the global per-token loss, the global token
        count, whether any rank is past its deadline): one all-reduce of (loss sum, tokens, late)."""
        loss_sum, n_tok = self.module(batch, step)
        n_tok = torch.as_tensor(n_tok, device=loss_sum.device)
        totals = torch.stack([loss_sum.detach().double() * weight, n_tok.double() * weight,
                              torch.tensor(float(late), dtype=torch.float64, device=loss_sum.device)])
        torch.distributed.all_reduce(totals)
        total_loss, total_tok, n_late = totals.tolist()
        return loss_sum * (weight * self.ranks.world / total_tok), total_loss / total_tok, int(total_tok), n_late > 0

    def broadcast(self, obj):
        """Rank 0's `obj` on every rank."""
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list | None:
        """Every rank's `obj`, in rank order, on rank 0 (None elsewhere)."""
        out = [None] * self.ranks.world if self.ranks.main else None
        torch.distributed.gather_object(obj, out, dst=0)
        return out
