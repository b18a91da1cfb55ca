"""Critics by short name, beside the generators' registry (`generators/registry.py`): the name a
training is tagged with (`critic`), the class that builds it, and the class of a checkpoint kind."""

from __future__ import annotations

from importlib import import_module

from phrases.errors import UserError

# name -> "module:Class"; imported only when asked for, so `cli.py --help` stays fast.
BUILTINS = {
    "vae": "critics.vae:VAECritic",
}


def available() -> list[str]:
    return list(BUILTINS)


def get_critic_class(name: str):
    if name not in BUILTINS:
        raise UserError(f"unknown critic {name!r}: registered critics are {', '.join(available())}")
    module, cls = BUILTINS[name].split(":")
    return getattr(import_module(module), cls)


def critic_class_of_kind(kind: str):
    """The critic class whose checkpoints are of `kind` (a checkpoint's "kind" entry)."""
    classes = {c.kind: c for c in map(get_critic_class, available())}
    if kind not in classes:
        raise UserError(f"a {kind!r} checkpoint is not a critic this version knows ({', '.join(classes)})")
    return classes[kind]
