"""`TrainableModel`: what every model the engine trains shares, written once.

A subclass (an autoregressive generator, the critic) gives its network (`build_model`), its loss
(`training_loss`) and its validation metrics (`validation_metrics`, with `best_metric_name`
naming the one that keeps best.pt). From here it gets:

- construction on one device, with initial weights that depend on the seed alone: the device a
  model is built or loaded on is the one it trains, scores and generates on;
- `fit`: one MLflow run per training (its tags and params: ARCHITECTURE.md, "The MLflow
  store"), the shared loop (`training.loop.train`), then the phases after maximum likelihood
  (`training.phases`: the gan's adversarial phase, fine-tuning against a critic), per-epoch log
  lines and a progress bar, the best weights reloaded at the end, what finishing adds (the
  critic's calibration and validity suite), the checkpoint and tokenizer logged as artifacts, the
  run marked complete last; it returns what the CLI prints;
- checkpoints: `save` / `load` of a plain dict read with `torch.load(weights_only=True)`, from
  which the model is rebuilt (its config, its tokenizer, its weights), nanoGPT-style; against a
  tracking server (`MLFLOW_TRACKING_URI=http://...`) `last.pt` is uploaded after every epoch too,
  so `--resume` works from another machine;
- under torchrun (`training.distributed`): rank 0 opens the run, logs, writes and uploads the
  checkpoints; the other ranks only take their share of the loop (`fit` returns their
  `FitResult` with no run and no checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from phrases.errors import UserError
from phrases.files import remove_stale, writable_folder
from phrases.sequences import split_sequences
from phrases.tokenizer import tokenizer_from_json, tokenizer_to_json
from phrases.vocab import Vocab
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.console import metric_logger, progress_bar
from training import distributed
from training.device import resolve_device, seeded
from training.loop import TrainConfig, TrainState, train
from training.phases import Phase, mark_phase_done, phase_done, run_phase

CHECKPOINT_ROOT = Path("checkpoints")


def new_checkpoint_dir(kind: str, data_hash: str) -> Path:
    """checkpoints/KIND/DATA_HASH/<time>-<random>: a folder of its own for every training, so two
    trainings of the same model on the same data never write each other's files."""
    return CHECKPOINT_ROOT / kind / data_hash / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


@dataclass
class FitResult:
    """What `fit` returns: the loop's end state plus what the run logged, for the CLI to print."""

    state: TrainState
    run_id: str | None  # None on a torchrun rank other than 0
    checkpoint: Path | None  # best.pt
    metrics: dict[str, float] = field(default_factory=dict)  # baselines and final figures

    @property
    def best(self) -> float:
        return self.state.best


class TrainableModel(ABC):
    name: str  # registry name, e.g. "lstm", "vae"
    kind: str  # checkpoint kind, checked on load
    role: str  # "generator" or "critic": the MLflow tag that names the model (the store knows its experiment)
    best_metric_name: str  # lower is better
    config_class: type

    def __init__(self, tokenizer, config=None, device: str | torch.device = "auto", seed: int = 0) -> None:
        self.tokenizer = tokenizer
        self.vocab = Vocab.of(tokenizer)
        self.config = config or self.config_class()
        self.device = resolve_device(device)
        with seeded(seed):  # the initial weights depend on the seed alone
            self.model = self.build_model().to(self.device)
        self.data_hash = ""
        self.run_id: str | None = None
        self.init_from: str | None = None  # the training run it started from (`--init-from`), if any

    # -- what a subclass provides ------------------------------------------------------------
    @abstractmethod
    def build_model(self) -> torch.nn.Module: ...

    @abstractmethod
    def training_loss(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss summed over the batch, tokens it covers) for padded BOS + phrase + EOS rows."""

    @abstractmethod
    def validation_metrics(self, val_split) -> dict[str, float]:
        """Every validation metric on a split, `best_metric_name` among them."""

    def baseline_metrics(self, train_split, val_split) -> dict[str, float]:
        """Figures logged once when a training starts (e.g. the unigram baseline)."""
        return {}

    def finish_training(self, train_split, val_split, test_split=None) -> dict[str, float]:
        """Run after the best weights are back (e.g. calibration; the critic's validity suite on
        `test_split`); returns figures to log. The run is complete only after it."""
        return {}

    def phases(self, train_split, val_split, config: TrainConfig) -> list[Phase]:
        """The phases of its training after maximum likelihood (`training.phases`): none by
        default; the gan gives its adversarial one."""
        return []

    def extra_state(self) -> dict:
        """What else a checkpoint holds (calibration, discriminator, ...)."""
        return {}

    def restore_extra(self, state: dict) -> None:
        """Take back what `extra_state` saved."""

    # -- shared -----------------------------------------------------------------------------
    @property
    def pad_id(self) -> int:
        return self.vocab.pad

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def training_sequences(self, split) -> list[np.ndarray]:
        return split_sequences(split, self.vocab.bos, self.vocab.eos)

    def checkpoint_state(self) -> dict:
        return {"name": self.name, "model_config": json.dumps(dataclasses.asdict(self.config)),
                "tokenizer": tokenizer_to_json(self.tokenizer), "run_id": self.run_id or "",
                "data_hash": self.data_hash, "init_from": self.init_from or "", **self.extra_state()}

    def save(self, path: Path) -> None:
        save_checkpoint({"kind": self.kind, "model": self.model.state_dict(), **self.checkpoint_state()}, path)

    @classmethod
    def load(cls, path: Path, device: str | torch.device = "auto"):
        """Rebuild the model a checkpoint holds, on `device`."""
        state = load_checkpoint(path, kind=cls.kind, map_location="cpu")
        try:
            obj = cls(tokenizer_from_json(state["tokenizer"]), cls.config_class(**json.loads(state["model_config"])),
                      device)
            obj.model.load_state_dict(state["model"])
        except (KeyError, TypeError, RuntimeError, json.JSONDecodeError) as e:
            reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
            raise CheckpointError(f"{path}: a {cls.kind} checkpoint this version cannot use ({reason}); "
                                  "train it again") from None
        obj.data_hash = state.get("data_hash", "")
        obj.run_id = state.get("run_id") or None
        obj.init_from = state.get("init_from") or None
        obj.restore_extra(state)
        return obj

    def load_weights(self, path: Path) -> None:
        """The weights and extra state of a checkpoint of this model (a finished phase's best.pt)."""
        state = load_checkpoint(path, kind=self.kind, map_location=self.device)
        self.model.load_state_dict(state["model"])
        self.restore_extra(state)

    # -- training -----------------------------------------------------------------------------
    def run_tags(self, config: TrainConfig) -> dict[str, str]:
        return {self.role: self.name, "corpus": config.corpus, "data_hash": config.data_hash,
                "device": str(self.device), "budget": config.budget,
                **({"init_from": self.init_from} if self.init_from else {}), **config.tags}

    def run_params(self, config: TrainConfig) -> dict:
        world = distributed.from_env().world
        return {**{f"model.{k}": v for k, v in dataclasses.asdict(self.config).items()}, **config.params(),
                "num_parameters": self.num_parameters(), "processes": world, "global_batch_size": config.batch_size * world}

    @contextmanager
    def tracked_run(self, config: TrainConfig, tags: dict | None = None, params: dict | None = None):
        """Open the MLflow run of a training (reopen it on `config.resume`); yields the config with
        its data_hash and checkpoint folder settled."""
        from store import training_run

        if not config.data_hash:
            raise ValueError("TrainConfig.data_hash is empty: say which data the model is trained on")
        self.data_hash = config.data_hash
        if config.resume:
            if config.checkpoint_dir is None:
                raise UserError("--resume: no checkpoint folder to continue from; pass --checkpoint-dir DIR")
            self.run_id = load_checkpoint(Path(config.checkpoint_dir) / "last.pt", kind=self.kind).get("run_id") or None
        config = replace(config, checkpoint_dir=Path(config.checkpoint_dir or new_checkpoint_dir(self.kind, self.data_hash)))
        remove_stale(writable_folder(config.checkpoint_dir, "--checkpoint-dir"))  # and what a killed run left there
        with training_run(self.role, f"{self.name}-{self.data_hash}", {**self.run_tags(config), **(tags or {})},
                          {**self.run_params(config), **(params or {})},
                          resume_run_id=self.run_id if config.resume else None) as run:
            self.run_id = run.info.run_id
            yield config

    def run_loop(self, train_split, val_split, config: TrainConfig) -> TrainState:
        """The shared loop on a split, logging to the active run; the best weights loaded after
        (on a torchrun rank other than 0: the loop's share of the work only)."""
        from store import upload_checkpoint

        train_seqs = self.training_sequences(train_split)
        if not train_seqs or len(val_split) == 0:
            raise UserError("the training and validation splits need at least one phrase each; "
                            "use a larger corpus or another --split")
        if not distributed.is_main():
            return train(self, train_seqs, val_split, config)
        bar = progress_bar(self.name)
        try:
            state = train(self, train_seqs, val_split, config, log=metric_logger(self.name), progress=bar,
                          checkpointed=upload_checkpoint())
        finally:
            bar.close()
        best = load_checkpoint(Path(config.checkpoint_dir) / "best.pt", kind=self.kind, map_location=self.device)
        self.model.load_state_dict(best["model"])
        return state

    def log_checkpoint(self, path: Path, artifact_dir: str = "checkpoint") -> None:
        """The checkpoint file and the tokenizer, as artifacts of the active run."""
        from store import log_artifact, log_text

        log_artifact(path, artifact_dir)
        log_text(tokenizer_to_json(self.tokenizer), "tokenizer.json")

    def fit(self, train_split, val_split, config: TrainConfig, after: Sequence[Phase] = (), test_split=None,
            complete: bool = True) -> FitResult:
        """Train on `train_split`, validate on `val_split`: one MLflow run in the experiment of the
        model's role (under torchrun: rank 0's; the other ranks return a result without run or
        checkpoint). The phases: maximum likelihood on the shared loop (`config.epochs` epochs; none
        when 0, e.g. a model started from a trained run), then the model's own `phases` and the
        caller's `after` (each in its folder, the last in the training's; `pretrain/best.pt` is the
        starting point of the first, logged as the `pretrain_checkpoint` artifact). `--resume`
        skips the phases that ended and continues the one that did not. `complete=False`: the run
        is never marked complete (a trial of a search)."""
        from store import log_metrics, mark_complete, set_tag

        if self.data_hash and config.data_hash and self.data_hash != config.data_hash:  # started from a trained run
            raise UserError(f"--init-from: that model was trained on data {self.data_hash}, this data is "
                            f"{config.data_hash}; use the same corpus and tokenizer options as its run")
        phases = [*self.phases(train_split, val_split, config), *after]
        if phases:
            distributed.refuse(f"{self.name} training (its {phases[0].name} phase samples and updates in one process)")
        if not distributed.is_main():
            return FitResult(self.run_loop(train_split, val_split, config), None, None)

        tags = {k: v for phase in phases for k, v in getattr(phase, "tags", {}).items()}
        with self.tracked_run(config, tags=tags) as config:
            figures = self.baseline_metrics(train_split, val_split)
            if not config.resume:
                log_metrics(figures)
            root = Path(config.checkpoint_dir)
            state = self.run_loop(train_split, val_split, config) if not phases else \
                self._run_phases(phases, train_split, val_split, config, figures)
            best_path = root / "best.pt"
            final = self.finish_training(train_split, val_split, test_split)
            if final:
                self.save(best_path)  # the best weights with what finishing added (calibration)
            figures.update(final)
            log_metrics({f"best_{state.metric}": state.best, "tokens_per_s": state.tokens_per_s, **final}, step=state.step)
            set_tag("stop_reason", state.stop_reason)
            self.log_checkpoint(best_path)
            if complete:
                mark_complete(self.run_id)
        return FitResult(state, self.run_id, best_path, figures)

    def _run_phases(self, phases: list[Phase], train_split, val_split, config: TrainConfig, figures: dict) -> TrainState:
        """Maximum likelihood into `pretrain/` (when `config.epochs`), then each phase; what the
        last ended with."""
        from store import log_artifact, log_metrics, upload_checkpoint

        root = Path(config.checkpoint_dir)
        pre = root / "pretrain"
        state = phase_done(pre) if config.resume else None
        if state is not None:
            self.load_weights(pre / "best.pt")
        elif config.epochs > 0:
            state = self.run_loop(train_split, val_split, replace(config, checkpoint_dir=pre, keep_steps=()))
            mark_phase_done(pre, state)
        else:  # started from a trained run: that is the starting point
            best = self.validation_metrics(val_split)[self.best_metric_name]
            self.save(pre / "best.pt")
            state = TrainState(0, 0, self.best_metric_name, best, {self.best_metric_name: best}, float("nan"),
                               "no_pretraining")
            mark_phase_done(pre, state)
        figures[f"pretrain_best_{state.metric}"] = state.best
        log_metrics({f"pretrain_best_{state.metric}": state.best}, step=state.step)
        log_artifact(pre / "best.pt", "pretrain_checkpoint")
        log, upload = metric_logger(self.name), upload_checkpoint()
        for k, phase in enumerate(phases):
            folder = root if k == len(phases) - 1 else root / phase.name
            done = phase_done(folder) if config.resume else None
            if done is not None:
                self.load_weights(folder / "best.pt")
            else:
                bar = progress_bar(f"{self.name} {phase.name}")
                try:
                    done = run_phase(self, phase, folder, config.seed, config.resume,
                                     config.keep_steps if k == len(phases) - 1 else (), state.step, log, bar, upload)
                finally:
                    bar.close()
                self.load_weights(folder / "best.pt")
            state = replace(done, epoch=state.epoch)  # a phase after it counts updates, not epochs
        return state
