"""Where a study lives: an Optuna RDB storage that every `tune` process of the study opens.

- `--storage URL` (or PHRASEBENCH_OPTUNA_STORAGE): any SQLAlchemy URL Optuna takes, e.g. a
  database of its own on the team's PostgreSQL, `postgresql+psycopg://USER@HOST/optuna` (created
  on first use when the user may create databases);
- else, with a sqlite MLflow store (the default `sqlite:///mlflow.db`): `optuna.db` beside it;
- with a tracking server (`MLFLOW_TRACKING_URI=http://...`) there is no file every worker can
  reach, so a storage must be named.

Workers send a heartbeat every `heartbeat` seconds while a trial runs; a trial whose worker has
been silent for `2 x heartbeat` seconds is failed by the next worker that starts a trial
(Optuna's `fail_stale_trials`), its MLflow run marked KILLED, and its parameters queued once more.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

from phrases.errors import UserError

ENV = "PHRASEBENCH_OPTUNA_STORAGE"


def storage_url(given: str | None = None) -> str:
    from store import tracking_uri

    url = given or os.environ.get(ENV)
    if url:
        if not url.startswith(("sqlite:///", "postgresql", "mysql")):
            raise UserError(f"--storage {url}: give an SQLAlchemy URL, sqlite:///FILE or "
                            "postgresql+psycopg://USER@HOST/DATABASE")
        return url
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return f"sqlite:///{db.parent / 'optuna.db'}"
    raise UserError(f"MLFLOW_TRACKING_URI={uri}: a study shared through a server needs a database every worker "
                    f"reaches; pass --storage postgresql+psycopg://USER@HOST/DATABASE (or set {ENV})")


def open_storage(url: str, heartbeat: int | None = 30, on_stale=None):
    """Optuna's RDBStorage over `url` (sqlite: waits up to 60 s for a lock instead of failing),
    with heartbeats every `heartbeat` seconds (None: none) and `on_stale(study, trial)` run for each
    trial failed for want of one."""
    import optuna
    import sqlalchemy

    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite:///") else {"pool_pre_ping": True}
    beat = {} if heartbeat is None else {"heartbeat_interval": heartbeat, "grace_period": 2 * heartbeat,
                                          "heartbeat_stale_trial_callback": on_stale}
    with warnings.catch_warnings(), _creation_lock(url):
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, **beat)
        except (sqlalchemy.exc.SQLAlchemyError, ValueError, RuntimeError) as e:
            first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise UserError(f"--storage {url}: not a usable Optuna storage ({first})") from None


@contextmanager
def _creation_lock(url: str):
    """A storage's database and tables are made by one process at a time (workers started
    together): a file lock beside a sqlite file; a PostgreSQL advisory lock, which also covers
    creating the database."""
    if url.startswith("postgresql"):
        with _create_database(url):
            yield
        return
    if not url.startswith("sqlite:///"):
        yield
        return
    import fcntl

    db = Path(url[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


@contextmanager
def _create_database(url: str):
    """The PostgreSQL database `url` names, created when missing (through the server's `postgres`
    database), under an advisory lock held for the block."""
    import sqlalchemy

    target = sqlalchemy.engine.make_url(url)
    engine = sqlalchemy.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(26026)"))
            try:
                exists = conn.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                      {"d": target.database}).first()
                if target.database and not exists:
                    conn.execute(sqlalchemy.text(f'CREATE DATABASE "{target.database}"'))
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(26026)"))
    except sqlalchemy.exc.SQLAlchemyError as e:
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise UserError(f"--storage {target.render_as_string(hide_password=True)}: cannot reach or create the "
                        f"database ({first})") from None
    finally:
        engine.dispose()
