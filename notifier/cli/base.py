"""What every command shares: the app of one command, and errors as one line with exit 2."""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask

from ..errors import NotifierError

F = TypeVar("F", bound=Callable[..., Any])


def app() -> Flask:
    """Create the app for one CLI command; its connections close when the command ends."""
    from .. import create_app

    a = create_app()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(lambda: _close(a))
    return a


def _close(a: Flask) -> None:
    a.extensions["notifier.engine"].dispose()
    conn = a.extensions.get("notifier.redis")
    if conn is not None:
        conn.close()


def fails_clearly(fn: F) -> F:
    """Turn a NotifierError into a one-line message and exit status 2."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotifierError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    return wrapped  # type: ignore[return-value]
