"""The plumbing of `cli.py`: typer options built from the packages' option tables, one line per
error a user can fix, and results printed for people. (Kept out of cli.py so that it holds only
its commands.)"""

from __future__ import annotations

import errno
import functools
import inspect
from typing import Annotated

import click
import typer
from rich.table import Table
from rich.text import Text

from phrases.errors import UserError

# What the machine can refuse (a full disk, a read-only or missing folder): the user's to fix.
USER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR,
               errno.EEXIST, errno.ENOENT}


def option(kind, default, help: str, bounds: dict | None = None, *decls: str) -> tuple:
    """(annotation, default) of a typer option; `bounds` are typer's min / max."""
    return Annotated[kind, typer.Option(*decls, help=help, **(bounds or {}))], default


def with_options(name: str, params: dict[str, tuple], build):
    """Add the options `params` (name -> (annotation, default)) to a command; the command receives
    `build(values)` as its `name` argument instead. Typer reads the signature set here."""
    def wrap(fn):
        sig = inspect.signature(fn, eval_str=True)
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d) for k, (a, d) in params.items()]

        @functools.wraps(fn)
        def command(*args, **kwargs):
            return fn(*args, **{name: build({k: kwargs.pop(k) for k in params})}, **kwargs)
        command.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != name] + extra)
        command.__annotations__ = {p.name: p.annotation for p in command.__signature__.parameters.values()}
        return command
    return wrap


def command_factory(app: typer.Typer, say):
    """`command(name, group)`: a decorator making a command of `group` (default `app`) in which a
    `UserError`, or a write the machine refused, is one line on stderr (`say`) and exit code 2;
    anything else is a bug and keeps its traceback."""
    def command(name: str | None = None, group: typer.Typer = app):
        def wrap(fn):
            @functools.wraps(fn)
            def run(*args, **kwargs):
                try:
                    return fn(*args, **kwargs)
                except UserError as e:
                    say(f"[red]error:[/red] {e}")
                except OSError as e:
                    if e.errno not in USER_ERRNOS:
                        raise
                    say(f"[red]error:[/red] {e.filename or ''}: {e.strerror}; free some space or choose another folder")
                raise typer.Exit(2)
            return group.command(name)(run)
        return wrap
    return command


def print_items(console, items: list) -> None:
    """Print lines, and (title, header, rows) tables, as rich renders them."""
    for item in items:
        if isinstance(item, tuple):
            title, header, rows = item
            item = Table(title=Text(title))  # Text: a "[low, high]" is words, not markup
            for h in header:
                item.add_column(Text(h))
            for r in rows:
                item.add_row(*map(Text, r))
        console.print(item, highlight=False, soft_wrap=True)


def run_app(app: typer.Typer, say) -> int:
    """Run the app; a usage error (a bad option value, an unknown option) is one line naming the
    option and exit code 2, not typer's boxed message. Ctrl-C is exit code 130, also when the
    KeyboardInterrupt was swallowed on the way (phrases.interrupt)."""
    from phrases import interrupt

    interrupt.install()
    try:
        code = app(standalone_mode=False) or 0
    except (KeyboardInterrupt, click.exceptions.Abort):
        code = 130
    except Exception as e:
        if not (hasattr(e, "format_message") and hasattr(e, "exit_code")):  # not click's usage error: a bug
            raise
        say(f"[red]error:[/red] {e.format_message()}")
        return e.exit_code
    if interrupt.interrupted():
        say("interrupted (Ctrl-C)")
        return 130
    return code
