"""MLflow plumbing shared by every command: one store, experiments created on first use.

The default store is MLflow's own default, `sqlite:///mlflow.db` in the working directory, so a
plain `mlflow ui` there shows it; `MLFLOW_TRACKING_URI` overrides. Artifacts of a sqlite store
go to `mlartifacts/` beside the database file.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

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
    exp = with_retries(lambda: mlflow.get_experiment_by_name(name))
    if exp is not None:
        return exp.experiment_id
    try:
        return with_retries(lambda: mlflow.create_experiment(name, artifact_location=_artifact_root(uri)))
    except Exception:  # another process created it between our look-up and create
        exp = with_retries(lambda: mlflow.get_experiment_by_name(name))
        if exp is None:
            raise
        return exp.experiment_id


def with_retries(fn: Callable[[], T], attempts: int = 12) -> T:
    """Call `fn`, retrying with jittered back-off while sqlite says the database is locked.

    Two benchmarks writing one sqlite store at once otherwise lose writes to `database is locked`.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as e:  # mlflow wraps sqlalchemy's OperationalError in MlflowException
            if "locked" not in str(e).lower() or attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def training_run(experiment: str, name: str, role: dict[str, str], config, model_config, num_parameters: int,
                 device, resume_run_id: str | None = None, tags: dict | None = None, params: dict | None = None):
    """The MLflow run of one training (a generator's or a critic's): `resume_run_id` reopened as it
    is (`--resume`), else a new run in `experiment` named NAME-DATA_HASH, with the tags of
    DESIGN.md (`role`, e.g. {"generator": "lstm"}, plus corpus, data_hash, device) and the model
    and training parameters. Yields the active run."""
    import mlflow

    exp = experiment_id(experiment)
    with mlflow.start_run(run_id=resume_run_id, experiment_id=exp if resume_run_id is None else None,
                          run_name=f"{name}-{config.data_hash}") as run:
        if resume_run_id is None:
            mlflow.set_tags({**role, "corpus": config.corpus, "data_hash": config.data_hash, "device": str(device),
                             **config.tags, **(tags or {})})
            mlflow.log_params({**{f"model.{k}": v for k, v in dataclasses.asdict(model_config).items()},
                               **config.params(), "num_parameters": num_parameters, **(params or {})})
        yield run
