"""The training config and its command-line options, and model configs from `--model-opt
key=value` strings. Each default is written once, in the dataclass; the options read it (no
torch here: the CLI builds its options without importing it)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from phrases.errors import UserError


@dataclass
class TrainConfig:
    epochs: int = 10
    max_minutes: float | None = None  # a cap, not a recipe: what must reproduce is counted in steps
    max_steps: int | None = None  # stop after this many optimizer steps in total
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    patience: int = 3
    seed: int = 0
    checkpoint_dir: Path | None = None  # None: checkpoints/NAME/DATA_HASH/RUN_ID
    resume: bool = False
    log_every: int = 25  # train_loss / tokens_per_s / lr every this many steps
    val_every: int | None = None  # also validate every this many steps within an epoch
    data_hash: str = ""
    corpus: str = ""
    budget: str = "full"  # "quick" for the tiny budgets of --quick (make demo)
    tags: dict = field(default_factory=dict)
    keep_steps: tuple = ()  # also keep the weights at these optimizer steps: step-<N>.pt (0: before training)

    def __post_init__(self) -> None:
        self.keep_steps = parse_steps(self.keep_steps)  # "50,200,800" from the command line, or ints

    def params(self) -> dict:
        d = asdict(self)
        d.pop("tags")
        d["checkpoint_dir"] = str(self.checkpoint_dir)
        return d


def default(config_class, name: str):
    """The default of field `name` of a dataclass: what an option built from it shows and uses."""
    found = next(f for f in dataclasses.fields(config_class) if f.name == name)
    return found.default_factory() if found.default is dataclasses.MISSING else found.default


# The training options of the train commands (cli.py turns them into --options):
# name -> (type, default, help, bounds); a command may change a default.
_T = lambda name: default(TrainConfig, name)  # noqa: E731
TRAIN_OPTIONS = {
    "epochs": (int, _T("epochs"), "Epochs at most.", {"min": 1}),
    "max_steps": (Optional[int], _T("max_steps"), "Optimizer steps at most (the budget that reproduces).", {"min": 1}),
    "max_minutes": (Optional[float], _T("max_minutes"), "Wall-clock cap, not a recipe: stops after the step that crosses it.",
                    {"min": 0.01}),
    "batch_size": (int, _T("batch_size"), "Phrases per batch.", {"min": 1, "max": 4096}),
    "lr": (float, _T("lr"), "Peak learning rate (AdamW, warm-up then cosine decay).", {"min": 1e-7, "max": 1.0}),
    "patience": (int, _T("patience"), "Early stopping: epochs without a better validation metric.", {"min": 1}),
    "seed": (int, _T("seed"), "Seed of initial weights, batch order, dropout (and the critic's corruptions).", {}),
    "checkpoint_dir": (Optional[Path], _T("checkpoint_dir"), "Checkpoint folder (default: checkpoints/NAME/DATA_HASH/RUN).", {}),
    "resume": (bool, _T("resume"), "Continue the newest training of this model and data from its last.pt.", {}),
    "log_every": (int, _T("log_every"), "Log train_loss, tokens_per_s and lr to MLflow every this many steps.", {"min": 1}),
    "val_every": (Optional[int], _T("val_every"), "Also validate every this many steps within an epoch (default: once per epoch).",
                  {"min": 1}),
    "keep_steps": (Optional[str], None, "Also keep the weights at these optimizer steps (comma-separated; gan: "
                   "adversarial updates), as step-N.pt beside best.pt, for `audit --run-id`.", {}),
}


def parse_model_options(options: list[str] | None, flag: str = "--model-opt") -> dict[str, str]:
    """["hidden=256", ...] -> {"hidden": "256", ...}."""
    out = {}
    for opt in options or []:
        if "=" not in opt:
            raise UserError(f"{flag} {opt!r}: write key=value, e.g. {flag} hidden=256")
        key, value = opt.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def config_from_options(config_class, options: dict[str, str] | None, flag: str = "--model-opt"):
    """A model config dataclass from `--model-opt` (or `flag`) strings, each cast to its field's type."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    values = {}
    for key, raw in (options or {}).items():
        if key not in fields:
            raise UserError(f"{flag} {key}: unknown; {config_class.__name__} has {', '.join(fields)}")
        default = fields[key].default
        cast = type(default) if default is not None else str
        try:
            values[key] = (raw.lower() in ("1", "true", "yes")) if cast is bool else cast(raw)
        except ValueError:
            raise UserError(f"{flag} {key}={raw}: expected a {cast.__name__}") from None
    return config_class(**values)


def require(config, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
            fractions: tuple[str, ...] = (), flag: str = "--model-opt") -> None:
    """Refuse a degenerate model config before anything is built: `positive` fields >= 1 (or > 0),
    `non_negative` >= 0, `fractions` in [0, 1). A `UserError` names the option (`flag`)."""
    for name in positive:
        if not getattr(config, name) > 0:
            raise UserError(f"{flag} {name}={getattr(config, name)}: must be positive")
    for name in non_negative:
        if not getattr(config, name) >= 0:
            raise UserError(f"{flag} {name}={getattr(config, name)}: must be 0 or more")
    for name in fractions:
        if not 0 <= getattr(config, name) < 1:
            raise UserError(f"{flag} {name}={getattr(config, name)}: must be in [0, 1)")


def parse_steps(text, flag: str = "--keep-steps") -> tuple[int, ...]:
    """ "50,200,800" (or a sequence of ints) -> (50, 200, 800): distinct, sorted, each >= 0; a
    `UserError` naming `flag` otherwise."""
    if text is None or text == "":
        return ()
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    try:
        steps = sorted({int(p) for p in parts if p != ""})
    except (TypeError, ValueError):
        raise UserError(f"{flag} {text}: write step counts separated by commas, e.g. {flag} 50,200,800") from None
    if any(s < 0 for s in steps):
        raise UserError(f"{flag} {text}: step counts are 0 or more")
    return tuple(steps)
