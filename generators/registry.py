"""Generators by short name: the built-ins, plus third-party ones from the
`phrasebench.generators` entry-point group (`name = "package.module:Class"`)."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from phrases.errors import UserError
from phrases.names import check_name

ENTRY_POINT_GROUP = "phrasebench.generators"

# name -> "module:Class"; imported only when asked for, so `cli.py --help` stays fast.
BUILTINS = {
    "lstm": "generators.lstm:LSTMGenerator",
    "transformer": "generators.transformer:TransformerGenerator",
    "gan": "generators.gan:GANGenerator",
}


def _plugins() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Every registered name: built-ins first, then plug-ins."""
    return list(BUILTINS) + sorted(set(_plugins()) - set(BUILTINS))


def get_generator_class(name: str):
    if name in BUILTINS:
        module, cls = BUILTINS[name].split(":")
        return getattr(import_module(module), cls)
    plugins = _plugins()
    if name in plugins:
        check_name(name, "generator plug-in name")  # it names checkpoint folders and example files
        return plugins[name].load()
    raise UserError(f"unknown generator {name!r}: registered generators are {', '.join(available())}")
