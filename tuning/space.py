"""A generator's search space (`Generator.search_space`, declared by the generator itself) turned
into Optuna suggestions, and a trial's parameters turned into --model-opt values and training
options.

A space maps a parameter to one of:

    ("int", low, high)  or  ("int", low, high, step)     trial.suggest_int
    ("float", low, high)                                  trial.suggest_float
    ("log", low, high)                                    trial.suggest_float(log=True)
    ("choice", [v1, v2, ...])                             trial.suggest_categorical

A parameter is either a field of the generator's `config_class` (a --model-opt) or one of
TRAINABLE (a training option).
"""

from __future__ import annotations

import dataclasses

from phrases.errors import UserError

TRAINABLE = ("lr", "batch_size", "warmup_steps", "weight_decay")  # TrainConfig fields a space may search
KINDS = ("int", "float", "log", "choice")


def check_space(name: str, cls) -> dict:
    """The generator's space, refused with one line when it is empty or names something unknown."""
    space = dict(getattr(cls, "search_space", None) or {})
    if not space:
        raise UserError(f"generator {name} declares no search space (a `search_space` attribute on its class); "
                        "tune another generator, or declare one")
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    for key, spec in space.items():
        if key not in fields and key not in TRAINABLE:
            raise UserError(f"{name}.search_space: {key!r} is neither a field of {cls.config_class.__name__} "
                            f"({', '.join(sorted(fields))}) nor a training option ({', '.join(TRAINABLE)})")
        if not isinstance(spec, tuple) or not spec or spec[0] not in KINDS:
            raise UserError(f"{name}.search_space[{key!r}] = {spec!r}: write (kind, ...) with kind one of {', '.join(KINDS)}")
    return space


def suggest(trial, space: dict) -> dict:
    """One value per parameter of `space`, suggested by `trial`."""
    out = {}
    for key, (kind, *args) in space.items():
        if kind == "int":
            out[key] = trial.suggest_int(key, args[0], args[1], step=args[2] if len(args) > 2 else 1)
        elif kind == "float":
            out[key] = trial.suggest_float(key, args[0], args[1])
        elif kind == "log":
            out[key] = trial.suggest_float(key, args[0], args[1], log=True)
        else:
            out[key] = trial.suggest_categorical(key, list(args[0]))
    return out


def split(params: dict, cls) -> tuple[dict[str, str], dict]:
    """(--model-opt strings, TrainConfig overrides) of a trial's parameters."""
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    model_opts = {k: str(v) for k, v in params.items() if k in fields}
    train = {k: v for k, v in params.items() if k in TRAINABLE and k not in fields}
    return model_opts, train
