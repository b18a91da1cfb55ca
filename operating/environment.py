"""What `cli.py` says when the Python running it lacks the project's dependencies (a fresh
clone's `python cli.py ...` before `source .venv/bin/activate`): one line naming what to run
instead, exit code 2, never a traceback. Standard library only: it runs where nothing else can."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT = {"benchmark", "cli", "critics", "generators", "metrics", "phrases", "training"}


def missing_dependency(error: ModuleNotFoundError, python: str, root: Path) -> int:
    """Print the one line for `error` (raised while importing the CLI) and return the exit code, 2.
    A missing module of the project itself is a bug, raised again."""
    name = (error.name or "").split(".")[0]
    if not name or name in PROJECT:
        raise error
    here = Path(os.getcwd()).resolve() == Path(root).resolve()
    venv = Path(".venv") if here else Path(root) / ".venv"
    if (Path(root) / ".venv" / "bin" / "python").exists():
        todo = f"run `source {venv}/bin/activate` first (or call {venv}/bin/python)"
    else:
        todo = f"run `make venv` {'' if here else f'in {root} '}first (it creates .venv), then `source {venv}/bin/activate`"
    print(f"error: {python} has no {name} (phrasebench's dependencies are installed in .venv): {todo}", file=sys.stderr)
    return 2
