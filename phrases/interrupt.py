"""Ctrl-C that is never lost. Python turns SIGINT into a KeyboardInterrupt wherever the main
thread happens to be; raised inside a destructor or a finalizer it is printed as "Exception
ignored" and the program carries on. So the handler here also records it: the last writes that
make work count (`store.mark_complete`) refuse to happen after it, and the command
line exits 130 whatever became of the exception."""

from __future__ import annotations

import signal
import threading

_seen = threading.Event()


def _on_sigint(signum, frame):
    _seen.set()
    raise KeyboardInterrupt


def install() -> None:
    """Use the recording handler (main thread only; a SIGINT ignored by the parent stays ignored)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def interrupted() -> bool:
    return _seen.is_set()


def check() -> None:
    """Raise KeyboardInterrupt again if a Ctrl-C came, even one that something swallowed."""
    if _seen.is_set():
        raise KeyboardInterrupt
