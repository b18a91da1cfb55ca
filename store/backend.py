"""The MLflow store every command shares: one store, ready once per process, safe under concurrency.

The default store is MLflow's own default, `sqlite:///mlflow.db` in the working directory, so a
plain `mlflow ui` there shows it; `MLFLOW_TRACKING_URI` overrides. Artifacts of a sqlite store
go to `mlartifacts/` beside the database file.

Under concurrency (any number of commands started at once): a sqlite store is created by one
process at a time (`ensure_store` holds an exclusive lock on `mlflow.db.lock` while MLflow makes
its tables), and every call that can meet SQLite's "database is locked" retries (`with_retries`).
Runs carry the host and PID of their process, so a run left RUNNING by a killed process is
marked KILLED by the next command that opens the store.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

# a checkpoint is one small file: no progress bar for each download; and MLflow's INFO lines
# ("Creating initial MLflow database tables...") stay out of the commands' output
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

DEFAULT_URI = "sqlite:///mlflow.db"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.resolve().parent / "mlartifacts").as_uri()
    return None


_ready: set[str] = set()


def ensure_store() -> str:
    """The tracking URI, its store ready for this process (once per process and URI): a sqlite
    store created under an exclusive file lock, a corrupt one refused with one line, the runs of
    dead processes of this host marked KILLED."""
    import fcntl

    import mlflow
    import sqlalchemy

    from phrases.errors import UserError

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri in _ready:
        return uri
    db = Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None
    try:
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
            with open(db.with_name(db.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                with_retries(lambda: mlflow.MlflowClient(uri).search_experiments(max_results=1))
        _mark_dead_runs(mlflow.MlflowClient(uri))
    except (mlflow.exceptions.MlflowException, sqlalchemy.exc.SQLAlchemyError) as e:  # not a store we can use
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        if db is None and uri.startswith(("http://", "https://")):  # a server that refuses us: no file to move
            raise UserError(f"MLFLOW_TRACKING_URI={uri}: the server answered with an error, or not at all ({first}); with `server --auth` set "
                            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD; a 403 'Invalid Host header' means "
                            "the server's --allowed-hosts lacks this name") from None
        where = db or uri
        raise UserError(f"{where}: not a usable MLflow store ({first}); move it away (e.g. mv {where} {where}.bad) "
                        "and run again, or point MLFLOW_TRACKING_URI at another store") from None
    _ready.add(uri)
    return uri


def process_tags() -> dict[str, str]:
    """Who is writing a run: `_mark_dead_runs` of a later command reads them."""
    from phrases.files import HOST

    return {"host": HOST, "pid": str(os.getpid())}


def _mark_dead_runs(client) -> None:
    """Runs still RUNNING whose process (of this host) is gone: marked KILLED."""
    from phrases.files import HOST, pid_alive

    exps = [e.experiment_id for e in with_retries(lambda: client.search_experiments())
            if e.name.startswith("phrasebench-")]
    if not exps:
        return
    for run in with_retries(lambda: client.search_runs(exps, "attributes.status = 'RUNNING'", max_results=1000)):
        tags = run.data.tags
        if tags.get("host") == HOST and tags.get("pid", "").isdigit() and not pid_alive(int(tags["pid"])):
            with_retries(lambda: client.set_terminated(run.info.run_id, "KILLED"))


def is_remote() -> bool:
    """A tracking server (http/https): runs and artifacts live there, not on this machine."""
    return tracking_uri().split(":", 1)[0].lower() in ("http", "https")


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
