"""A live deployment never accepts the sandbox's published credentials on its webhooks."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import create_app, db
from notifier.models import Subscription
from notifier.processes import demo as demo_data

from .test_webhooks import SECRET, TG_HEADER, _twilio


@pytest.fixture
def live_app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """Real SendGrid and Telegram credentials, Twilio left on the sandbox."""
    monkeypatch.setenv("NOTIFIER_SENDGRID_API_KEY", "SG.real-looking.key")
    monkeypatch.setenv("NOTIFIER_SENDGRID_FROM", "kundservice@solvik.example")
    monkeypatch.setenv("NOTIFIER_TELEGRAM_BOT_TOKEN", "987654:REAL-bot-token")
    monkeypatch.setenv("NOTIFIER_TELEGRAM_WEBHOOK_SECRET", SECRET)
    app = create_app({"TESTING": True})
    assert not app.config["SANDBOX"] and app.config["PROVIDERS"]["twilio"].sandbox
    with app.app_context(), db.transaction() as s:
        demo_data.seed(s, "correct-horse-battery")
    yield app
    app.extensions["notifier.engine"].dispose()


def _status(app: Flask, address: str) -> str:
    with app.app_context():
        return str(db.session().scalar(select(Subscription.status).where(
            Subscription.channel == "sms", Subscription.address == address)))


def test_a_stopp_signed_with_the_sandbox_token_is_refused_when_twilio_is_not_configured(
        live_app: Flask) -> None:
    client: FlaskClient = live_app.test_client()
    phone = "+46701740690"  # a staff phone of the demo
    assert _status(live_app, phone) == "active"
    resp = _twilio(client, "/webhooks/twilio/inbound",
                   {"MessageSid": "SM" + "7" * 32, "From": phone, "Body": "STOPP"})
    assert resp.status_code == 403
    assert "twilio has no real credentials" in resp.get_json()["error"]
    assert _status(live_app, phone) == "active"
    status = _twilio(client, "/webhooks/twilio/status", {"MessageSid": "SM1", "MessageStatus": "x"})
    assert status.status_code == 403


def test_configured_providers_keep_their_webhooks_in_a_live_deployment(live_app: Flask) -> None:
    client: FlaskClient = live_app.test_client()
    resp = client.post(f"/webhooks/telegram/{SECRET}", json={"update_id": 1},
                       headers={TG_HEADER: SECRET})
    assert resp.status_code == 200


def test_the_sandbox_demo_keeps_its_twilio_webhooks(app: Flask, client: FlaskClient,
                                                    demo: Any) -> None:
    resp = _twilio(client, "/webhooks/twilio/inbound",
                   {"MessageSid": "SM" + "8" * 32, "From": "+46701740690", "Body": "STOPP"})
    assert resp.status_code == 200
    assert _status(app, "+46701740690") == "opted_out"
