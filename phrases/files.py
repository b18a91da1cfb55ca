"""Files written so that nothing half-written ever looks whole.

Every output goes to a temporary name beside its target, `.NAME.tmp-HOST-PID-RANDOM`, and is
renamed over the target once complete (a rename within one folder is atomic on POSIX). A run
killed mid-write leaves only such a temporary, which the next run on the same machine removes
(`remove_stale`) once the PID in its name is no longer alive; another machine's temporaries (a
cache folder shared by several nodes) are never touched. Folders the user names are checked before any work
(`writable_folder`). `file_sha256` checks that a file read back is the one written.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

from phrases.errors import UserError

HOST = socket.gethostname()
_HOST_TAG = re.sub(r"[^A-Za-z0-9.]", "_", HOST)[:64] or "host"  # no "-": the fields of a temporary name stay apart


def temp_path(target: Path) -> Path:
    """A temporary name beside `target`, holding this machine's name and this process's PID."""
    target = Path(target)
    return target.with_name(f".{target.name}.tmp-{_HOST_TAG}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def remove_stale(folder: Path) -> int:
    """Remove the temporaries that killed runs left in `folder`; returns how many."""
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and ".tmp-" in name):
            continue
        fields = name.rsplit(".tmp-", 1)[1].split("-")
        if len(fields) == 3 and fields[0] != _HOST_TAG:
            continue  # another machine's, maybe in progress
        try:
            pid = int(fields[-2])  # HOST-PID-RANDOM, or PID-RANDOM as written before
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed += 1
    return removed


def write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary and a rename; an error (a full disk, a read-only
    folder) leaves no file behind and propagates."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def writable_folder(path: Path, option: str) -> Path:
    """`path` as a folder this process can write in (created if missing), checked before any
    work; otherwise a `UserError` naming `option`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = temp_path(path / "probe")
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise UserError(f"{option} {path}: a file is in the way; give a folder") from None
    except OSError as e:
        raise UserError(f"{option} {path}: cannot write there ({e.strerror}); give a writable folder") from None
    return path
