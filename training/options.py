"""Model configs from `--model-opt key=value` strings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from phrases.errors import UserError

# The training options of the train commands (cli.py turns them into --options):
# name -> (type, default, help, bounds); a command may change a default.
TRAIN_OPTIONS = {
    "epochs": (int, 10, "Epochs at most.", {"min": 1}),
    "max_steps": (Optional[int], None, "Optimizer steps at most (the budget that reproduces).", {"min": 1}),
    "max_minutes": (Optional[float], None, "Wall-clock cap, not a recipe: stops after the step that crosses it.",
                    {"min": 0.01}),
    "batch_size": (int, 16, "Phrases per batch.", {"min": 1, "max": 4096}),
    "lr": (float, 2e-3, "Peak learning rate (AdamW, warm-up then cosine decay).", {"min": 1e-7, "max": 1.0}),
    "patience": (int, 3, "Early stopping: epochs without a better validation metric.", {"min": 1}),
    "seed": (int, 0, "Seed of initial weights, batch order, dropout (and the critic's corruptions).", {}),
    "checkpoint_dir": (Optional[Path], None, "Checkpoint folder (default: checkpoints/NAME/DATA_HASH/RUN).", {}),
    "resume": (bool, False, "Continue the newest training of this model and data from its last.pt.", {}),
    "log_every": (int, 25, "Log train_loss, tokens_per_s and lr to MLflow every this many steps.", {"min": 1}),
    "val_every": (Optional[int], None, "Also validate every this many steps within an epoch (default: once per epoch).",
                  {"min": 1}),
    "keep_steps": (Optional[str], None, "Also keep the weights at these optimizer steps (comma-separated; gan: "
                   "adversarial updates), as step-N.pt beside best.pt, for `audit --run-id`.", {}),
}


def parse_model_options(options: list[str] | None) -> dict[str, str]:
    """["hidden=256", ...] -> {"hidden": "256", ...}."""
    out = {}
    for opt in options or []:
        if "=" not in opt:
            raise UserError(f"--model-opt {opt!r}: write key=value, e.g. --model-opt hidden=256")
        key, value = opt.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def config_from_options(config_class, options: dict[str, str] | None):
    """A model config dataclass from `--model-opt` strings, each cast to its field's type."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    values = {}
    for key, raw in (options or {}).items():
        if key not in fields:
            raise UserError(f"--model-opt {key}: unknown; {config_class.__name__} has {', '.join(fields)}")
        default = fields[key].default
        cast = type(default) if default is not None else str
        try:
            values[key] = (raw.lower() in ("1", "true", "yes")) if cast is bool else cast(raw)
        except ValueError:
            raise UserError(f"--model-opt {key}={raw}: expected a {cast.__name__}") from None
    return config_class(**values)


def require(config, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
            fractions: tuple[str, ...] = ()) -> None:
    """Refuse a degenerate model config before anything is built: `positive` fields >= 1 (or > 0),
    `non_negative` >= 0, `fractions` in [0, 1). A `UserError` names the --model-opt."""
    for name in positive:
        if not getattr(config, name) > 0:
            raise UserError(f"--model-opt {name}={getattr(config, name)}: must be positive")
    for name in non_negative:
        if not getattr(config, name) >= 0:
            raise UserError(f"--model-opt {name}={getattr(config, name)}: must be 0 or more")
    for name in fractions:
        if not 0 <= getattr(config, name) < 1:
            raise UserError(f"--model-opt {name}={getattr(config, name)}: must be in [0, 1)")
