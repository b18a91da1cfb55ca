"""Find the trained model a command should use: a checkpoint the user names, else the newest
finished MLflow run of that model on the same `data_hash` (quick ones included), which is the one
the last benchmark used unless a newer one was trained since. Every command says which it uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from phrases.files import file_sha256
from phrases.errors import UserError
from store import get_run, latest_run, list_artifacts, run_artifact


class MissingModel(UserError):
    """A model a command needs has not been trained on this data; the message says how."""


@dataclass
class Found:
    model: object
    run_id: str
    description: str  # "critic run 1a2b3c (budget quick, data 0f1e2d3c, trained 2026-12-01 05:12)"
    sha256: str = ""  # of the checkpoint file
    source: str = "trained"  # "trained", "checkpoint" (named by the user) or "default" (shipped)
    budget: str = "full"  # the training run's budget tag ("quick" for --quick)


def _describe(what: str, run) -> str:
    started = datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M")
    return (f"{what} run {run.info.run_id} (budget {run.data.tags.get('budget', 'full')}, "
            f"data {run.data.tags.get('data_hash', '?')}, trained {started})")


def _load(load, what: str, run, checkpoint: Path | None, command: str, data_hash: str) -> Found:
    """`load(path)` of the checkpoint the user names, else of the run's logged one."""
    if checkpoint is not None:
        model = load(checkpoint)
        return Found(model, model.run_id or "", f"{what} checkpoint {checkpoint} (data {model.data_hash or '?'})",
                     file_sha256(checkpoint), "checkpoint")
    if run is None:
        raise MissingModel(f"no trained {what} for data_hash {data_hash}: run `python cli.py {command}` with the "
                           "same data options (or pass --checkpoint FILE)")
    path = run_artifact(run.info.run_id, "checkpoint/best.pt")
    return Found(load(path), run.info.run_id, _describe(what, run), file_sha256(path),
                 budget=run.data.tags.get("budget", "full"))


def find_generator(name: str, data_hash: str, device: str = "auto", checkpoint: Path | None = None) -> Found:
    from generators.registry import get_generator_class

    run = None if checkpoint else latest_run("generator", data_hash, generator=name)
    cls = get_generator_class(name)
    return _load(lambda path: cls.load(path, device), name, run, checkpoint, f"train-generator {name}", data_hash)


def find_critic(data, device: str = "auto", checkpoint: Path | None = None) -> Found:
    """The critic to measure `data` with: a checkpoint the user names; else the newest critic the
    user trained on this data; else the shipped default critic when it fits the data
    (`critics.default`)."""
    from critics import default
    from critics.registry import critic_class_of_kind
    from training.checkpoint import load_checkpoint

    run = None if checkpoint else latest_run("critic", data.data_hash)
    if run is None and checkpoint is None and default.available():
        critic = default.load(device)
        if default.matches(critic, data):
            return Found(critic, critic.run_id or "", f"the default critic {default.VERSION} (sha256 "
                         f"{default.SHA256[:12]}, {default.FILE.name})", default.SHA256, "default", "default")
    def load(path: Path):  # the critic class a checkpoint holds
        return critic_class_of_kind(load_checkpoint(path)["kind"]).load(path, device)

    found = _load(load, "critic", run, checkpoint, "train-critic", data.data_hash)
    if len(found.model.calibration) == 0:
        raise UserError(f"{found.description}: the critic is not calibrated (an interrupted training?); "
                        "run train-critic to the end")
    return found


def find_optimized(name: str, data_hash: str, device: str = "auto") -> tuple[Found, str] | None:
    """The newest training of generator `name` on this data fine-tuned against a critic (tag
    `optimized_against`, `train-generator NAME --against-critic`) and that critic's sha256; None
    when there is none."""
    from generators.registry import get_generator_class

    run = latest_run("generator", data_hash, optimized=True, generator=name)
    if run is None:
        return None
    cls = get_generator_class(name)
    found = _load(lambda path: cls.load(path, device), name, run, None, f"train-generator {name}", data_hash)
    return found, run.data.tags["optimized_against"]


def pretrained_checkpoint(run_id: str) -> Path | None:
    """The MLE starting point a generator run logged (the gan's `pretrain_checkpoint`), if any."""
    names = list_artifacts(run_id, "pretrain_checkpoint")
    if "pretrain_checkpoint/best.pt" not in names:
        return None
    return run_artifact(run_id, "pretrain_checkpoint/best.pt")


def run_budget(run_id: str) -> str:
    """The `budget` tag of a training run: "quick" for the minutes-long models of --quick."""
    return get_run(run_id).data.tags.get("budget", "full") if run_id else "full"
