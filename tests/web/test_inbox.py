"""The sandbox inbox: paged, filtered by channel and recipient, in Swedish time."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from notifier import dispatch

from ..conftest import AuthActions


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_the_sandbox_inbox_pages_and_filters(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any, sandbox: Any,
        worker: Any) -> None:
    from ..conftest import wait_until

    worker()
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms", "email"])
    with app.app_context():
        confirmed = dispatch.confirm_idempotently(req, "test")
    wait_until(lambda: len(sandbox.messages()) == 43 + 36, timeout=90, what="every message")
    auth.login("viewer@solvik.example")
    first = client.get("/sandbox").get_data(as_text=True)
    assert "79 recipients · 79 messages" in first and "Page 1 of 4" in first
    emails = client.get("/sandbox?channel=email").get_data(as_text=True)
    assert "36 recipients" in emails and "<h2" in emails and "SMS ·" not in emails
    anna = client.get("/sandbox?to=070-174 06 05").get_data(as_text=True)  # as people type it
    assert "1 recipient · 1 message" in anna and "Anna Lindqvist" in anna
    assert "No message matches the filter." in client.get("/sandbox?to=nobody").get_data(
        as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d · ", first)  # Swedish time, no ISO
    assert confirmed.notices
