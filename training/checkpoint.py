"""Checkpoints: written atomically, read with `torch.load(weights_only=True)`.

A checkpoint is a plain dict of tensors, numbers and strings, so loading it can never run code;
a truncated or foreign file gets a one-line error that names it.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from phrases.errors import UserError
from phrases.files import write_atomic

FORMAT = "phrasebench-checkpoint-1"
KEPT_PREFIX = "step-"  # a checkpoint kept at a given step (`TrainConfig.keep_steps`): step-<N>.pt


class CheckpointError(UserError):
    """A checkpoint file that cannot be used; the message names the file and what to do."""


def save_checkpoint(state: dict, path: Path) -> None:
    """Write `state` to `path` atomically (`phrases.files.write_atomic`). It is serialized in memory
    first, so a full disk is an `OSError` of the write, not a half-written zip inside torch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, kind: str | None = None, map_location="cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint`; `kind` checks what model it holds."""
    path = Path(path)
    if not path.is_file():
        command = "train-critic" if (kind or "").startswith("critic") else "train-generator ..."
        raise CheckpointError(f"{path}: no checkpoint here; train one first (python cli.py {command})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, pickle with code in it, not a torch file at all
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path}: not a readable phrasebench checkpoint ({reason}); delete it and train again"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a phrasebench checkpoint (no '{FORMAT}' marker)")
    if kind is not None and state.get("kind") != kind:
        raise CheckpointError(f"{path}: holds a {state.get('kind')!r} model, not {kind!r}")
    return state


def kept_checkpoint(folder: Path, step: int) -> Path:
    """Where a training keeps its checkpoint of step `step` (`TrainConfig.keep_steps`)."""
    return Path(folder) / f"{KEPT_PREFIX}{int(step)}.pt"


def kept_checkpoints(folder: Path) -> dict[int, Path]:
    """{step: path} of the checkpoints a training kept in `folder` (step-<N>.pt), by step."""
    found = {}
    for path in Path(folder).glob(f"{KEPT_PREFIX}*.pt") if Path(folder).is_dir() else []:
        digits = path.stem[len(KEPT_PREFIX):]
        if digits.isdigit():
            found[int(digits)] = path
    return dict(sorted(found.items()))
