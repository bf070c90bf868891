"""Run each queue job in an application context of its own (one app per worker process).

A job opens and closes its own app context and database session, also when it returns early: a
session left open between jobs would keep an old snapshot on SQLite and make a worker see a
resumed notice as paused, or a new notice as missing, for good.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

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
    """Call fn inside a fresh app context of this process's app (or of the caller's app)."""
    owner = current_app._get_current_object() if has_app_context() else app()  # type: ignore[attr-defined]
    with owner.app_context():
        return fn(*args)
