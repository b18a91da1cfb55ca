"""What the autoregressive generators share: training through the one loop, teacher-forced
NLL, batched sampling to a length, checkpoints, MLflow logging. A subclass gives its model
(`build_model`) and how to sample a batch (`sample_batch`)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from abc import abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from generators.base import Generator, Length
from generators.checkpoint import load_checkpoint, save_checkpoint
from generators.sampling import TokenKinds, forced_prefix
from generators.training import (
    TrainConfig, TrainState, batches, pad_batch, resolve_device, sequences, token_losses, train,
    unigram_nll,
)


def tokenizer_to_json(tokenizer) -> str:
    with tempfile.TemporaryDirectory() as d:
        tokenizer.save(Path(d) / "tokenizer.json")
        return (Path(d) / "tokenizer.json").read_text()


def tokenizer_from_json(text: str):
    from phrases.tokenizer import load_tokenizer

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "tokenizer.json").write_text(text)
        return load_tokenizer(Path(d) / "tokenizer.json")


def config_from_options(config_class, options: dict[str, str] | None):
    """A model config dataclass from `--model-opt key=value` strings, each cast to its field's type."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    values = {}
    for key, raw in (options or {}).items():
        if key not in fields:
            raise ValueError(f"--model-opt {key}: unknown; {config_class.__name__} has {', '.join(fields)}")
        default = fields[key].default
        cast = type(default) if default is not None else str
        try:
            values[key] = (raw.lower() in ("1", "true", "yes")) if cast is bool else cast(raw)
        except ValueError:
            raise ValueError(f"--model-opt {key}={raw}: expected a {cast.__name__}") from None
    return config_class(**values)


class AutoregressiveGenerator(Generator):
    """Base of token-by-token generators trained by maximum likelihood."""

    config_class: type

    def __init__(self, tokenizer, config=None, device: str = "auto", seed: int = 0) -> None:
        self.tokenizer = tokenizer
        self.config = config or self.config_class()
        self.kinds = TokenKinds.from_tokenizer(tokenizer)
        self.device = resolve_device(device)
        torch.manual_seed(seed)  # the initial weights depend on the seed alone
        self.model = self.build_model(len(tokenizer)).to(self.device)
        self.data_hash = ""
        self.run_id: str | None = None

    # -- what a subclass provides -------------------------------------------------------
    @abstractmethod
    def build_model(self, vocab_size: int) -> torch.nn.Module:
        """ids (B, L) -> logits (B, L, V)."""

    @abstractmethod
    def sample_batch(
        self, prompts: list[list[int]], length: Length, temperature: float, top_p: float,
        generator: torch.Generator, max_tokens: int | None = None, prefix: Sequence[int] = (),
    ) -> list[list[int]]:
        """Continuations of `prompts` (each BOS + context ids + `prefix`), each at most
        `max_tokens` long (default: `sampling.max_new_tokens(length)`) and starting with `prefix`."""

    # -- the interface --------------------------------------------------------------------
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def fit(self, train_split, val_split, config: TrainConfig) -> TrainState:
        """Train with the shared loop; one MLflow run in `phrasebench-generators`."""
        import mlflow

        from benchmark.tracking import EXPERIMENT_GENERATORS, training_run

        k = self.kinds
        train_seqs = sequences(train_split, k.bos, k.eos)
        val_seqs = sequences(val_split, k.bos, k.eos)
        if not train_seqs or not val_seqs:
            raise ValueError("the training and validation splits need at least one phrase each; use a larger corpus or --split")
        self.data_hash = config.data_hash
        config.checkpoint_dir = Path(config.checkpoint_dir)
        if config.resume:
            self.run_id = load_checkpoint(config.checkpoint_dir / "last.pt", kind=self.name).get("run_id") or None
        tokenizer_json = tokenizer_to_json(self.tokenizer)
        with training_run(EXPERIMENT_GENERATORS, self.name, {"generator": self.name}, config, self.config, self.num_parameters(),
                          self.device, resume_run_id=self.run_id if config.resume else None) as run:
            self.run_id = run.info.run_id
            if not config.resume:
                mlflow.log_metric("unigram_val_nll", unigram_nll(train_seqs, val_seqs, len(self.tokenizer)))
            state = train(
                self.model, train_seqs, val_seqs, config, k.pad,
                checkpoint_extra=lambda: self._checkpoint_extra(tokenizer_json),
                log=_logger(self.name),
                progress=_progress_bar(self.name),
                kind=self.name,
            )
            mlflow.log_metrics({"best_val_nll": state.best_val_nll, "tokens_per_s": state.tokens_per_s})
            mlflow.set_tag("stop_reason", state.stop_reason)
            best = config.checkpoint_dir / "best.pt"
            self.model.load_state_dict(load_checkpoint(best, kind=self.name, map_location=self.device)["model"])
            mlflow.log_artifact(str(best), "checkpoint")
            with tempfile.TemporaryDirectory() as d:
                (Path(d) / "tokenizer.json").write_text(tokenizer_json)
                mlflow.log_artifact(str(Path(d) / "tokenizer.json"))
        return state

    @torch.no_grad()
    def nll(self, phrases, batch_size: int = 32) -> list[np.ndarray]:
        """Per-token NLL (nats) of each continuation and its EOS, given BOS + context."""
        self.model.eval()
        k = self.kinds
        seqs = sequences(phrases, k.bos, k.eos)
        ctx_len = [len(c) for c in phrases.token_lists("context")]
        out: list[np.ndarray] = [np.zeros(0)] * len(seqs)
        for idx in batches(seqs, batch_size, seed=0, shuffle=False):
            batch = pad_batch([seqs[i] for i in idx], k.pad).to(self.device)
            nll, _ = token_losses(self.model, batch, k.pad)
            nll = nll.cpu().numpy()
            for row, i in enumerate(idx):
                # targets are seq[1:]; the continuation starts at seq index 1 + len(context)
                out[i] = nll[row, ctx_len[i] : len(seqs[i]) - 1].astype(np.float64)
        return out

    @torch.no_grad()
    def generate(
        self,
        contexts: Sequence[Sequence[int]],
        length: Length,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        batch_size: int = 64,
    ) -> list[list[int]]:
        """Continuations, in batches of `batch_size`; the same seed gives the same tokens. Each
        starts at a bar line (`sampling.forced_prefix`)."""
        self.model.eval()
        prefix = forced_prefix(self.kinds)
        out: list[list[int]] = []
        for start in range(0, len(contexts), batch_size):
            gen = torch.Generator(device=self.device).manual_seed(seed + start)
            prompts = [[self.kinds.bos, *map(int, c), *prefix] for c in contexts[start : start + batch_size]]
            out += self.sample_batch(prompts, length, temperature, top_p, gen, prefix=prefix)
        return out

    # -- checkpoints ----------------------------------------------------------------------
    def _checkpoint_extra(self, tokenizer_json: str) -> dict:
        return {
            "generator": self.name,
            "model_config": json.dumps(dataclasses.asdict(self.config)),
            "tokenizer": tokenizer_json,
            "run_id": self.run_id or "",
        }

    def save(self, path: Path) -> None:
        save_checkpoint(
            {"kind": self.name, "model": self.model.state_dict(), "data_hash": self.data_hash,
             **self._checkpoint_extra(tokenizer_to_json(self.tokenizer))},
            path,
        )

    @classmethod
    def load(cls, path: Path, device: str = "auto") -> AutoregressiveGenerator:
        state = load_checkpoint(path, kind=cls.name)
        gen = cls(tokenizer_from_json(state["tokenizer"]), cls.config_class(**json.loads(state["model_config"])), device)
        gen.model.load_state_dict(state["model"])
        gen.data_hash = state.get("data_hash", "")
        gen.run_id = state.get("run_id") or None
        return gen


def _logger(name: str):
    """Metrics to the active MLflow run; one line per epoch on stderr."""
    import mlflow
    from rich.console import Console

    console = Console(stderr=True)

    def log(metrics: dict, step: int) -> None:
        mlflow.log_metrics(metrics, step=step)
        if "val_nll" in metrics:
            console.print(f"{name} epoch {int(metrics['epoch'])}: val_nll {metrics['val_nll']:.4f}, "
                          f"best {metrics['best_val_nll']:.4f} (step {step})", highlight=False)

    return log


def _progress_bar(name: str):
    """A rich progress callback for the training loop (on stderr; silent when not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn(f"[bold]{name}[/bold] epoch"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.3f}  {task.fields[tps]:,.0f} tok/s"),
                   TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)
    state = {"task": None, "last": time.perf_counter()}

    def update(done: int, total: int, loss: float, tps: float) -> None:
        if state["task"] is None or done == 1:
            if not bar.live.is_started:
                bar.start()
            if state["task"] is not None:
                bar.remove_task(state["task"])
            state["task"] = bar.add_task("", total=total, loss=loss, tps=tps)
        bar.update(state["task"], completed=done, loss=loss, tps=tps)
        if done == total:
            bar.stop()

    return update
