"""Names a user gives that become file or folder names (an imported row's NAME, a generator's
registered name, and so the run and example names made of them): checked before any work."""

from __future__ import annotations

import re

from phrases.errors import UserError

NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
RULE = "1 to 64 letters, digits, '.', '_' or '-', not starting with '.'"


def check_name(name: str, what: str) -> str:
    """`name` if it is safe as a file name (see RULE), else a UserError naming `what`."""
    if not NAME.fullmatch(name):
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise UserError(f"{what} {shown!r}: a name becomes a file name here; use {RULE}")
    return name


def short_stem(stem: str, limit: int = 100) -> str:
    """`stem` unchanged when it has at most `limit` characters, else its first ones and a hash of
    the whole: a song's name inside a file name then never passes the system's 255 bytes."""
    import hashlib

    if len(stem.encode()) <= limit:
        return stem
    cut = stem.encode()[: limit - 9].decode(errors="ignore")
    return f"{cut}_{hashlib.sha256(stem.encode(errors='surrogateescape')).hexdigest()[:8]}"
