"""Training phases after maximum likelihood: the engine's second loop, for phases that make
their own updates (the gan's adversarial phase, fine-tuning against a critic).

A model's training is a list of phases (ARCHITECTURE.md, "The training engine"): maximum
likelihood on the shared loop (`training.loop.train`), then any `Phase` the model gives
(`TrainableModel.phases`) or its caller adds (`TrainableModel.fit(after=...)`). A phase says how
many updates it makes, what one update is (`step`) and what its validation metrics are; from
here it gets what every training gets from the engine: a step budget and a wall-clock cap,
validation every `val_every` updates, `best.pt` by its metric (or its last weights when
`keep_last`), `last.pt` written atomically at every validation with everything needed to continue
exactly (the model and its extra state, the phase's own state, the RNG, the step), `step-<N>.pt`
for `keep_steps`, the per-step log and progress callbacks, and a marker (`phase.json`) once it
ended, so a `--resume` skips it.

An exact resume asks one thing of a phase: update `i` depends only on the state it saved and on
`i` (its batch and sampling seeds derive from `(seed, i)`, as `training.loop` derives batch order
from `(seed, epoch)`).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import torch

from phrases.files import write_atomic
from training.checkpoint import kept_checkpoint, load_checkpoint, save_checkpoint
from training.loop import TrainState

DONE = "phase.json"  # in a phase's checkpoint folder once the phase ended: its TrainState


class Phase(ABC):
    """One phase of a model's training after maximum likelihood."""

    name: str  # its checkpoint folder under the training's, and its MLflow metric prefix-free name
    metric: str = "val_nll"  # the validation metric it keeps best.pt by (lower is better)
    keep_last: bool = False  # best.pt holds the last weights, not the best by `metric`
    steps: int  # its budget, in updates
    val_every: int = 25
    max_minutes: float = 0.0  # a wall-clock cap (0: none); `steps` is the budget that reproduces

    @abstractmethod
    def start(self, seed: int) -> dict[str, float] | None:
        """Before the first update of a fresh phase (not on a resume): e.g. freeze the reference of
        a KL leash, make the optimizers; may return metrics of the starting point, logged at its
        step."""

    @abstractmethod
    def step(self, i: int) -> dict[str, float]:
        """Update number `i` (0-based); returns its metrics (a `tokens` entry counts toward tokens/s)."""

    @abstractmethod
    def validate(self) -> dict[str, float]:
        """The phase's validation metrics, `metric` among them."""

    def state(self) -> dict:
        """What else last.pt must hold to continue this phase exactly (optimizers, reference)."""
        return {}

    def restore(self, state: dict) -> None:
        """Take back what `state` saved."""

    def generator_updates(self, i: int) -> int:
        """How many of the updates up to and including `i` count toward `keep_steps` (all of them,
        unless the phase starts with updates of something else, e.g. a discriminator warm-up)."""
        return i + 1


def phase_done(folder: Path) -> TrainState | None:
    """The end state of a phase that finished in `folder`, or None."""
    path = Path(folder) / DONE
    if not path.is_file():
        return None
    try:
        return TrainState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # a foreign or damaged marker: the phase runs again from its last.pt


def mark_phase_done(folder: Path, state: TrainState) -> None:
    write_atomic(Path(folder) / DONE, json.dumps(state.__dict__).encode())


def run_phase(trainable, phase: Phase, checkpoint_dir: Path, seed: int, resume: bool = False,
              keep_steps: tuple = (), step0: int = 0, log: Callable[[dict, int], None] | None = None,
              progress: Callable[[int, int, float, float], None] | None = None,
              checkpointed: Callable[[Path], None] | None = None) -> TrainState:
    """Run `phase` on `trainable` (a `TrainableModel`), checkpoints in `checkpoint_dir`; steps are
    logged on the training's axis from `step0`. On `resume`, continues from the folder's last.pt
    when it holds this phase."""
    folder = Path(checkpoint_dir)
    last_path, best_path = folder / "last.pt", folder / "best.pt"
    device = trainable.device
    done, best, bad = 0, float("inf"), 0
    state = load_checkpoint(last_path, kind=trainable.kind, map_location=device) \
        if resume and last_path.is_file() else None
    if state is not None and state.get("phase") == phase.name:
        trainable.model.load_state_dict(state["model"])
        trainable.restore_extra(state)
        phase.restore(state["phase_state"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"])
        done, best = int(state["step"]), float(state["best"])
    else:
        torch.manual_seed(seed)
        first = phase.start(seed)
        if first and log:
            log(first, step0)
        if 0 in keep_steps:
            trainable.save(kept_checkpoint(folder, 0))

    def save_last() -> None:
        rng = {"rng_cpu": torch.get_rng_state(),
               **({"rng_cuda": torch.cuda.get_rng_state()} if device.type == "cuda" else {})}
        save_checkpoint({"kind": trainable.kind, "model": trainable.model.state_dict(), **trainable.checkpoint_state(),
                         "phase": phase.name, "phase_state": phase.state(), "step": done, "best": best, **rng},
                        last_path)
        if checkpointed:
            checkpointed(last_path)

    def validate() -> dict:
        nonlocal best
        trainable.model.eval()
        with torch.no_grad():
            metrics = phase.validate()
        trainable.model.train()
        value = metrics[phase.metric]
        if phase.keep_last or value < best:
            best = value
            trainable.save(best_path)
        return metrics

    started, tokens, stop_reason = time.perf_counter(), 0.0, "steps"
    deadline = started + phase.max_minutes * 60 if phase.max_minutes else None
    keep = set(keep_steps)
    metrics: dict = {}
    while done < phase.steps:
        m = phase.step(done)
        done += 1
        tokens += m.pop("tokens", 0.0)
        counted = phase.generator_updates(done - 1)
        if counted in keep and counted != phase.generator_updates(done - 2):  # this update made it `counted`
            trainable.save(kept_checkpoint(folder, counted))
        timed_out = bool(deadline and time.perf_counter() > deadline)
        if done % phase.val_every == 0 or done == phase.steps or timed_out:
            metrics = validate()
            m.update(metrics)
            save_last()
        if progress:
            progress(done, phase.steps, m.get("train_loss", m.get("pg_loss", float("nan"))),
                     tokens / max(time.perf_counter() - started, 1e-9))
        if log:
            log(m, step0 + done)
        if timed_out:
            stop_reason = "max_minutes"
            break
    if not metrics:  # a phase resumed after its last update: validate once more
        metrics = validate()
    elapsed = time.perf_counter() - started
    end = TrainState(done, step0 + done, phase.metric, best, metrics, tokens / max(elapsed, 1e-9), stop_reason)
    mark_phase_done(folder, end)
    return end
