"""Where a study lives: an Optuna RDB storage that every `tune` process of the study opens.

- `--storage URL` (or PHRASEBENCH_OPTUNA_STORAGE): any SQLAlchemy URL Optuna takes, e.g. a
  database of its own on the team's PostgreSQL, `postgresql+psycopg://USER@HOST/optuna` (created
  on first use when the user may create databases). A password is refused in `--storage` (every
  account reads a process's arguments): put the URL in PHRASEBENCH_OPTUNA_STORAGE, or the
  password in a pgpass file (PGPASSFILE);
- else, with a sqlite MLflow store (the default `sqlite:///mlflow.db`): `optuna.db` beside it;
- else, with `MLFLOW_TRACKING_URI` pointing at a `cli.py server` of this machine: the database
  `phrasebench_optuna` on that server's private PostgreSQL, reached on its Unix socket with its
  password file (libpq's `passfile`; the password is in no URL, argument or message). The server
  publishes both while it runs (`published_storage`: a record per port in
  $XDG_RUNTIME_DIR/phrasebench-servers, else ~/.cache/phrasebench/servers, folder 0700);
- with any other tracking server there is no database every worker reaches, so a storage must be
  named. The private PostgreSQL listens on no network port, so workers on other machines name a
  PostgreSQL they all reach with --storage.

Workers send a heartbeat every `heartbeat` seconds while a trial runs; a trial whose worker has
been silent for `2 x heartbeat` seconds is failed by the next worker that starts a trial
(Optuna's `fail_stale_trials`), its MLflow run marked KILLED, and its parameters queued once more.
"""

from __future__ import annotations

import json
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

from phrases.errors import UserError

ENV = "PHRASEBENCH_OPTUNA_STORAGE"
DATABASE = "phrasebench_optuna"  # the studies' database on a `cli.py server`'s PostgreSQL


def storage_url(given: str | None = None) -> str:
    from store import tracking_uri

    if given:
        _no_password(given)
    url = given or os.environ.get(ENV)
    if url:
        if not url.startswith(("sqlite:///", "postgresql", "mysql")):
            raise UserError(f"--storage {shown(url)}: give an SQLAlchemy URL, sqlite:///FILE or "
                            "postgresql+psycopg://USER@HOST/DATABASE")
        return url
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return f"sqlite:///{db.parent / 'optuna.db'}"
    published = server_storage(uri)
    if published:
        return published
    raise UserError(f"MLFLOW_TRACKING_URI={uri}: no `cli.py server` of this machine answers there, and a study shared "
                    "through another server needs a database every worker reaches; pass --storage "
                    f"postgresql+psycopg://USER@HOST/DATABASE (or set {ENV})")


def _no_password(url: str) -> None:
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return  # refused as not an SQLAlchemy URL by the caller
    if parsed.password or "password" in parsed.query:
        raise UserError("--storage holds a password, which every account on this machine can read in the process list; "
                        f"give the URL in the {ENV} environment variable instead, or the password in a pgpass file "
                        "(PGPASSFILE)")


def shown(url: str) -> str:
    """A storage URL fit to print and log: no user, password or query."""
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return "(the given URL)"
    if parsed.drivername.startswith("sqlite"):
        return url
    return sqlalchemy.engine.URL.create(parsed.drivername, None, None, parsed.host, parsed.port,
                                        parsed.database).render_as_string()


# -- the storage a `cli.py server` publishes -------------------------------------------------------
def records_folder() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "phrasebench-servers" if runtime else Path.home() / ".cache" / "phrasebench" / "servers"


@contextmanager
def published_storage(port: int, store_uri: str, client_env: dict[str, str], say=print):
    """While `cli.py server` runs on `port` with its private PostgreSQL (`store_uri`, a URI without
    a password; `client_env` holds PGPASSFILE): a record telling this account's `tune` processes
    the studies' database there (`DATABASE`, with libpq's `passfile`); removed after the block.
    A record that cannot be written is said, and the server runs without it."""
    import sqlalchemy

    from phrases.files import write_atomic

    url = sqlalchemy.engine.make_url(store_uri).set(database=DATABASE)
    if client_env.get("PGPASSFILE"):
        url = url.update_query_dict({"passfile": client_env["PGPASSFILE"]})
    folder = records_folder()
    record = folder / f"{port}.json"
    try:
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        write_atomic(record, json.dumps({"pid": os.getpid(), "port": port,
                                         "storage": url.render_as_string(hide_password=False)}).encode())
    except OSError as e:
        say(f"tune: cannot publish the studies' database in {folder} ({e.strerror}); `tune` through this server "
            "needs --storage")
        yield None
        return
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            if json.loads(record.read_text()).get("pid") == os.getpid():  # not a later server's
                record.unlink()
        except (OSError, ValueError):
            pass


LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def server_storage(tracking: str) -> str | None:
    """The storage a running `cli.py server` of this machine publishes for the tracking URI
    `tracking` (http://HOST:PORT with HOST this machine), or None."""
    import socket
    from urllib.parse import urlsplit

    from phrases.files import pid_alive

    try:
        parts = urlsplit(tracking)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or host is None:
        return None
    if host not in LOCAL | {socket.gethostname(), socket.getfqdn()}:
        try:
            if not socket.gethostbyname(host).startswith("127."):
                return None
        except OSError:
            return None
    try:
        record = json.loads((records_folder() / f"{port}.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("port") != port or not isinstance(record.get("pid"), int) or not pid_alive(record["pid"]):
        return None
    return record.get("storage") or None


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
            raise UserError(f"--storage {shown(url)}: not a usable Optuna storage ({first})") from None


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
