"""Where a model runs and how it is seeded: one device per model, threads, seeded initial weights."""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from phrases.errors import UserError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`auto`: CUDA when present, else CPU. Asking for `cuda` without one is a `UserError`."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device here; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserError(f"--device {device!r}: choose auto, cpu or cuda")
    return torch.device(device)


def set_threads() -> None:
    """Use every core for intra-op parallelism (torch defaults to physical cores only), or
    `PHRASEBENCH_THREADS` of them; under torchrun, each of the machine's processes gets its share
    of the cores (LOCAL_WORLD_SIZE), or `PHRASEBENCH_THREADS` each."""
    share = (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE") or 1)
    torch.set_num_threads(int(os.environ.get("PHRASEBENCH_THREADS") or max(1, share)))


@contextmanager
def seeded(seed: int):
    """Run the block with torch's CPU generator seeded to `seed`, then put the outer RNG state
    back: what is built inside (initial weights) depends on `seed` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
