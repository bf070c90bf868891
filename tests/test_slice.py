"""The whole slice as it really runs: console, database, Valkey, a worker process, SDKs, sandbox."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import db
from notifier.models import Subscriber, Subscription
from notifier.sandbox.client import SandboxClient

from .conftest import AuthActions, wait_until


def _form(page: str) -> dict[str, Any]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return {"csrf_token": token.group(1)}


def _send_form(contacts: list[str]) -> dict[str, Any]:
    return {"var-contacts": contacts, "var-eta": "13:00",
            "channels": ["sms", "email", "telegram", "banner"]}


def _expected(app: Flask) -> dict[tuple[str, str], str]:
    """Map each active (delivery channel, address) of the demo to its subscriber's language."""
    with app.app_context():
        rows = db.session().execute(select(Subscription.channel, Subscription.address,
                                           Subscriber.language).join(Subscriber)).all()
    return {(channel, address): lang for channel, address, lang in rows}


def test_operator_sends_phone_outage_notice_to_everyone(app: Flask, client: FlaskClient,
                                                         auth: AuthActions, demo: Any,
                                                         sandbox: SandboxClient, worker: Any,
                                                         tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    env["NOTIFIER_LOG_LEVEL"] = "DEBUG"  # the most a worker ever logs
    worker()
    auth.login("operator@solvik.example")
    page = client.get("/send/phone-lines-down").get_data(as_text=True)
    assert "Contact channels that work" in page

    data = {**_form(page), **_send_form(["vaxel", "chatt", "epost"]), "action": "preview"}
    preview = client.post("/send/phone-lines-down", data=data)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "Preview" in text and "Confirm and send" in text
    assert "08-123 45 67" in text          # Swedish national format in the sv variant
    assert "+46 8 123 45 67" in text       # international format in the en variant

    data.update(action="confirm", preview_hash=re.search(
        r'name="preview_hash" value="([^"]+)"', text).group(1))  # type: ignore[union-attr]
    confirmed = client.post("/send/phone-lines-down", data=data)
    assert confirmed.status_code == 302
    notice_url = confirmed.headers["Location"]

    progress_url = notice_url + "/progress.json"
    final = wait_until(lambda: (p := client.get(progress_url).get_json())["finished"] and p,
                       timeout=90, what="every delivery to finish")
    expected = _expected(app)
    assert final["counts"] == {ch: {"sent": sum(1 for c, _ in expected if c == ch)}
                               for ch in ("sms", "email", "telegram")}

    received = sandbox.messages()
    by_recipient: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in received:
        by_recipient.setdefault((m["channel"], m["to"]), []).append(m)
    assert set(by_recipient) == set(expected)
    for key, messages in by_recipient.items():
        assert len(messages) == 1, f"{key} received {len(messages)} messages"
        body = messages[0]["body"]
        if expected[key] == "sv":
            assert "Växel" in body or "växel" in body.lower(), body
        else:
            assert "Switchboard" in body, body

    # No personal data or secrets in what the worker logged during the send.
    logged = "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    assert logged, "the worker wrote no log at all"
    for _channel, address in expected:
        assert address not in logged
    assert "SANDBOX-bot-token" not in logged and "sandbox-auth-token" not in logged

    banner = json.loads(client.get("/banner.json").data)
    assert len(banner["banners"]) == 1
    shown = banner["banners"][0]
    assert "020" in shown["text"]["sv"]["headline"]
    assert [link["href"] for link in shown["links"]] == [
        "tel:+4681234567", "https://www.solvik.example/chatt", "mailto:kundservice@solvik.example"]


def test_a_variable_left_empty_is_a_clear_error_and_nothing_is_sent(
        client: FlaskClient, auth: AuthActions, demo: Any, sandbox: SandboxClient) -> None:
    auth.login("operator@solvik.example")
    page = client.get("/send/phone-lines-down").get_data(as_text=True)
    data = {**_form(page), **_send_form([]), "action": "confirm"}
    resp = client.post("/send/phone-lines-down", data=data)
    assert resp.status_code == 422
    assert "Contact channels that work" in resp.get_data(as_text=True)
    assert "Please correct 1 field" in resp.get_data(as_text=True)
    assert sandbox.messages() == []
    assert client.get("/").get_data(as_text=True).count("Nothing sent yet") == 1


def test_confirm_refuses_when_the_message_changed_since_the_preview(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    page = client.get("/send/phone-lines-down").get_data(as_text=True)
    data = {**_form(page), **_send_form(["vaxel"]), "action": "confirm", "preview_hash": "stale"}
    resp = client.post("/send/phone-lines-down", data=data)
    assert resp.status_code == 200
    assert "changed since the preview" in resp.get_data(as_text=True)
    assert "Nothing sent yet" in client.get("/").get_data(as_text=True)
