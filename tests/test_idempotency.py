"""Confirm once: a re-posted form, a second tab or a retried command makes one notice, not two."""
from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from notifier import db, dispatch, idempotency
from notifier.models import Incident, Notice

from .cli.test_cli import cli
from .conftest import AuthActions

SEND = "/send/phone-lines-down"


def _notices(app: Flask) -> int:
    with app.app_context(), db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Notice)) or 0)


def _confirm_form(client: FlaskClient) -> dict[str, Any]:
    page = client.get(SEND).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "var-contacts": ["vaxel", "chatt"], "var-eta": "13:00",
            "channels": ["sms", "email"], "action": "preview"}
    preview = client.post(SEND, data=form).get_data(as_text=True)
    for name in ("preview_hash", "confirm_token"):
        found = re.search(rf'name="{name}" value="([^"]+)"', preview)
        assert found, f"the preview carries no {name}"
        form[name] = found.group(1)
    return {**form, "action": "confirm"}


def test_a_reposted_confirm_makes_one_notice_and_shows_it(app: Flask, client: FlaskClient,
                                                          auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    form = _confirm_form(client)
    first = client.post(SEND, data=form)
    again = client.post(SEND, data=form)  # the browser's "resubmit", or a double click
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert _notices(app) == 1
    page = client.get(again.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "already" in page.lower()


def test_two_tabs_of_one_preview_confirming_at_once_make_one_notice(
        app: Flask, demo: Any, auth: AuthActions, client: FlaskClient) -> None:
    auth.login("operator@solvik.example")
    form = _confirm_form(client)
    results: list[int] = []

    def post() -> None:
        results.append(client.post(SEND, data=form).status_code)

    tabs = [threading.Thread(target=post) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    assert results == [302, 302]
    assert _notices(app) == 1


def test_a_retried_send_command_makes_one_notice(app: Flask, env: dict[str, str],
                                                 demo: Any) -> None:
    args = ("send", "phone-lines-down", "--var", "contacts=vaxel", "--channels", "email", "--yes")
    first = cli(env, *args)
    again = cli(env, *args)
    assert first.returncode == again.returncode == 0, again.stderr
    assert re.search(r"^notice 1 \(incident 1\) confirmed$", first.stdout, re.MULTILINE)
    assert "notice 1 was already confirmed" in again.stdout
    assert _notices(app) == 1
    deliberate = cli(env, *args, "--idempotency-key", "second-wave")
    assert re.search(r"^notice 2 \(incident 2\) confirmed$", deliberate.stdout, re.MULTILINE)


def test_a_key_presented_with_another_request_is_refused(app: Flask, demo: Any) -> None:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["email"])
    other = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["chatt"]}, ["email"])
    with app.app_context():
        made = dispatch.confirm_idempotently(
            req, "test", idempotency.Key("api", "k1", idempotency.fingerprint("a")))
        with pytest.raises(idempotency.IdempotencyError):
            dispatch.confirm_idempotently(
                other, "test", idempotency.Key("api", "k1", idempotency.fingerprint("b")))
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Incident)) == 1
    assert [n.id for n in made.notices] == [1] and not made.replayed
