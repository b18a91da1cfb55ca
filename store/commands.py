"""The command lines of MLflow's own programs: `mlflow ui` over the project's store, and
`mlflow server` for the team server (`cli.py server`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from phrases.errors import UserError
from store.backend import ensure_store


def _mlflow_bin() -> str:
    """The `mlflow` program of this environment (else the one on PATH)."""
    found = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if found is None:
        raise UserError("the mlflow command is not installed here; run `make venv`")
    return found


def ui_command(host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """argv of `mlflow ui` over this store, bound to `host` (loopback unless the user says
    otherwise), one worker (it starts in seconds)."""
    return [_mlflow_bin(), "ui", "--backend-store-uri", ensure_store(), "--host", host, "--port", str(port), "--workers", "1"]


def server_command(artifacts: Path, host: str, port: int, workers: int, extra: tuple = ()) -> list[str]:
    """The `mlflow server` command line; the backend store URI is not in it (it may hold a
    password, and every account can read a process's arguments): MLflow reads it from
    MLFLOW_BACKEND_STORE_URI in its environment."""
    return [_mlflow_bin(), "server", "--serve-artifacts", "--artifacts-destination", str(artifacts.resolve()),
            "--host", host, "--port", str(port), "--workers", str(workers), *extra,
            "--uvicorn-opts=--no-access-log"]  # no line per request
