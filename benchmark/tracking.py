"""MLflow plumbing shared by every command: one store, experiments created on first use.

The default store is MLflow's own default, `sqlite:///mlflow.db` in the working directory, so a
plain `mlflow ui` there shows it; `MLFLOW_TRACKING_URI` overrides. Artifacts of a sqlite store
go to `mlartifacts/` beside the database file.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URI = "sqlite:///mlflow.db"

EXPERIMENT_GENERATORS = "phrasebench-generators"
EXPERIMENT_CRITICS = "phrasebench-critics"
EXPERIMENT_LEADERBOARD = "phrasebench-leaderboard"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.resolve().parent / "mlartifacts").as_uri()
    return None


def experiment_id(name: str) -> str:
    """The id of experiment `name` in the current store, created if missing (race-safe)."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=_artifact_root(uri))
    except Exception:  # another process created it between our look-up and create
        exp = mlflow.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id
