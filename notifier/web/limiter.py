"""Throttling shared by every web process through Redis (Flask-Limiter): login, subscribe, API.

One `limiter` for the app; views add their own limits with `@limiter.limit(...)`. Nothing is
limited by default, so the public banner and status endpoints never count against anyone.
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  strategy="moving-window")


def storage_uri(redis_url: str) -> str:
    """Translate the app's Redis URL into the `limits` library's form (unix sockets differ)."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url[len("unix://"):].partition("?")
        return f"redis+unix://{path}" + (f"?{query}" if query else "")
    return redis_url


def init_app(app: Flask) -> None:
    """Keep the limiter's counters in the app's Redis, so every process shares them."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 5})
    # A Redis outage must not take the console down during an incident: limits then lapse.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
