"""Hypothesis on the provider webhooks' parsers: whatever an authenticated caller sends, no 5xx."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

SECRET = "fuzz-telegram-secret"
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                       lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=25)
TEXT = st.sampled_from(["/start", "/stop", "/status", "STATUS", "STOPP", "hej", ""]) | st.text(max_size=40)
UPDATE = st.fixed_dictionaries({"update_id": st.integers(0, 2**31)}, optional={
    "message": st.fixed_dictionaries({}, optional={
        "text": TEXT, "chat": st.fixed_dictionaries({}, optional={
            "id": st.integers(-2**40, 2**40) | st.text(max_size=12), "type": st.text(max_size=8)}),
        "from": st.dictionaries(st.text(max_size=10), JSONISH, max_size=3)}),
    "my_chat_member": JSONISH})


@FUZZ
@given(update=UPDATE | JSONISH)
def test_telegram_updates_never_break_the_webhook(app: Flask, client: FlaskClient, demo: Any,
                                                  update: Any) -> None:
    app.config["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    resp = client.post(f"/webhooks/telegram/{SECRET}", json=update,
                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)


FORM = st.fixed_dictionaries({"MessageSid": st.text(min_size=1, max_size=40),
                              "From": st.sampled_from(["+46701740605", "+46701740690"])
                              | st.text(min_size=1, max_size=20)},
                             optional={"Body": TEXT, "To": st.text(max_size=16),
                                       "NumMedia": st.text(max_size=3)})


@FUZZ
@given(form=FORM)
def test_signed_inbound_sms_never_break_the_webhook(app: Flask, client: FlaskClient, demo: Any,
                                                    form: dict[str, str]) -> None:
    token = app.config["PROVIDERS"]["twilio"].credentials["auth_token"]
    url = app.config["PUBLIC_URL"] + "/webhooks/twilio/inbound"
    signature = RequestValidator(token).compute_signature(url, form)
    resp = client.post("/webhooks/twilio/inbound", data=form,
                       headers={"X-Twilio-Signature": signature})
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)
