"""Helpers for the customer-facing tests: public forms, signed webhooks, sending a notice."""
from __future__ import annotations

import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from notifier import audit, db, dispatch
from notifier.config import SANDBOX_CREDENTIALS
from notifier.models import Delivery, Segment, Subscription
from workers import delivery

TOKEN = SANDBOX_CREDENTIALS["twilio"]["auth_token"]
TELEGRAM_SECRET = "s3cret-telegram-token"


def form_token(page: str) -> str:
    """Return the CSRF value a public page put in its form."""
    match = re.search(r'name="form_token" value="([^"]+)"', page)
    assert match, "no form_token on the page"
    return match.group(1)


def submit(client: FlaskClient, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    """Post a public form the way a browser does: after loading the page that holds it."""
    page = page if page is not None else client.get(path.split("?")[0]).get_data(as_text=True)
    return client.post(path, data={**data, "form_token": form_token(page)})


def twilio_post(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    """Post to a Twilio webhook signed exactly as Twilio signs it (the public URL + the form)."""
    url = client.application.config["PUBLIC_URL"] + path
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def sms_from(client: FlaskClient, sender: str, body: str, sid: str) -> Any:
    """A customer's SMS to the company's number, as Twilio forwards it."""
    return twilio_post(client, "/webhooks/twilio/inbound",
                       {"MessageSid": sid, "From": sender, "To": "+46766860000", "Body": body,
                        "AccountSid": SANDBOX_CREDENTIALS["twilio"]["account_sid"]})


def telegram_post(client: FlaskClient, update: dict[str, Any]) -> Any:
    """Post an update to the bot's webhook with Telegram's secret token."""
    return client.post(f"/webhooks/telegram/{TELEGRAM_SECRET}", json=update,
                       headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})


def telegram_text(update_id: int, chat_id: int, text: str, lang: str = "sv") -> dict[str, Any]:
    """A message a person writes to the bot."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Kund", "language_code": lang}}}


def telegram_button(update_id: int, chat_id: int, data: str, message_id: int) -> dict[str, Any]:
    """A press on an inline button of the bot's message."""
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "chat_instance": "1", "data": data,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Kund", "last_name": "Berg"},
        "message": {"message_id": message_id, "date": int(time.time()), "text": "…",
                    "chat": {"id": chat_id, "type": "private"}}}}


def add_segment(app: Flask, key: str) -> None:
    with app.app_context(), db.transaction() as s:
        s.add(Segment(key=key))


def send_notice(app: Flask, channels: tuple[str, ...], segments: tuple[str, ...]) -> int:
    """Confirm a phone-lines-down notice and send it in this process, through the real SDKs."""
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, list(channels),
                                 list(segments))
    with app.app_context(), db.transaction() as s:
        notice_id = dispatch.confirm(s, req, audit.actor()).id
    with app.app_context():
        for channel in channels:
            ids = list(db.session().scalars(select(Delivery.id).where(
                Delivery.notice_id == notice_id, Delivery.channel == channel)))
            if ids:
                delivery.deliver_batch(notice_id, channel, min(ids), max(ids))
    return notice_id


def planned(app: Flask, notice_id: int) -> set[tuple[str, str, str]]:
    """Return (channel, address, status) of a notice's deliveries."""
    with app.app_context():
        return {(d.channel, d.address, d.status) for d in db.session().scalars(
            select(Delivery).where(Delivery.notice_id == notice_id))}


def subscription(app: Flask, channel: str, address: str) -> tuple[str, str | None, str] | None:
    """Return (status, reason, consent source) of an address's first subscription."""
    with app.app_context():
        row = db.session().execute(select(Subscription.status, Subscription.status_reason,
                                          Subscription.consent_source).where(
            Subscription.channel == channel, Subscription.address == address)
            .order_by(Subscription.id)).first()
        return None if row is None else (row[0], row[1], row[2])
