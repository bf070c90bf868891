"""Throttling shared through Redis: a limit holds across requests and answers 429 with Retry-After."""
from __future__ import annotations

from flask import Flask

from notifier.web import limiter


def test_a_limit_counts_in_redis_and_says_when_to_come_back(app: Flask) -> None:
    @app.get("/probe-limited")
    @limiter.limiter.limit("2 per minute")
    def probe() -> str:
        return "ok"

    client = app.test_client()
    assert [client.get("/probe-limited").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/probe-limited")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_unix_socket_urls_are_translated_for_the_limits_library() -> None:
    assert limiter.storage_uri("unix:///x/valkey.sock") == "redis+unix:///x/valkey.sock"
    assert limiter.storage_uri("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"
