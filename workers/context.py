"""Run queue jobs inside an application context (one app per worker process)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, has_app_context

T = TypeVar("T")
_app: Flask | None = None


def use_app(app: Flask) -> None:
    """Make this process's jobs run in the given app (called by `notifier worker`)."""
    global _app
    _app = app


def app() -> Flask:
    """Return this process's app, creating it on first use."""
    global _app
    if _app is None:
        from notifier import create_app

        _app = create_app()
    return _app


def in_app_context(fn: Callable[..., T], *args: Any) -> T:
    """Call fn inside the worker's app context (or the caller's, if one is active)."""
    if has_app_context():
        return fn(*args)
    with app().app_context():
        return fn(*args)
