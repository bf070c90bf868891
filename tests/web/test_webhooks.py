"""Provider callbacks: authenticated, idempotent, states only move forward, customers are heard."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from notifier import audit, db, deliveries, dispatch, enqueueing
from notifier.config import SANDBOX_CREDENTIALS
from notifier.models import Delivery, Notice, Subscription, WebhookEvent, utcnow
from notifier.sandbox.callbacks import EventWebhook, sendgrid_event
from notifier.sandbox.client import SandboxClient
from workers import delivery

from ..conftest import wait_until

TOKEN = SANDBOX_CREDENTIALS["twilio"]["auth_token"]
SECRET = "s3cret-telegram-token"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# --- helpers -----------------------------------------------------------------------------------

def _confirm(app: Flask, channels: tuple[str, ...], segments: tuple[str, ...] = ("staff",)) -> int:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, list(channels),
                                 list(segments))
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, audit.actor()).id


def _rows(app: Flask, notice_id: int, channel: str) -> list[Any]:
    with app.app_context(), db.transaction() as s:
        return list(s.execute(select(Delivery).where(
            Delivery.notice_id == notice_id, Delivery.channel == channel)
            .order_by(Delivery.id)).scalars())


def _send(app: Flask, channel: str) -> list[Any]:
    """Confirm a notice to the staff and send it in this process; return its deliveries."""
    notice_id = _confirm(app, (channel,))
    ids = [d.id for d in _rows(app, notice_id, channel)]
    with app.app_context():
        delivery.deliver_batch(notice_id, channel, min(ids), max(ids))
    rows = _rows(app, notice_id, channel)
    assert {d.status for d in rows} == {"sent"}
    return rows


def _row(app: Flask, delivery_id: int) -> Any:
    with app.app_context(), db.transaction() as s:
        return s.get(Delivery, delivery_id)


def _subscription(app: Flask, channel: str, address: str) -> str:
    with app.app_context(), db.transaction() as s:
        return str(s.scalar(select(Subscription.status).where(
            Subscription.channel == channel, Subscription.address == address)))


def _planned(app: Flask, channel: str) -> set[str]:
    """Return the addresses a new notice to the staff would reach on a channel."""
    return {d.address for d in _rows(app, _confirm(app, (channel,)), channel)}


def _twilio(client: FlaskClient, path: str, form: dict[str, str], *, query: str = "",
            signed_url: str | None = None, signature: str | None = None) -> Any:
    public = client.application.config["PUBLIC_URL"]  # NOTIFIER_PUBLIC_URL
    url = f"{public}{path}" + (f"?{query}" if query else "")
    sig = signature if signature is not None else \
        RequestValidator(TOKEN).compute_signature(signed_url or url, form)
    return client.post(path + (f"?{query}" if query else ""), data=form,
                       headers={"X-Twilio-Signature": sig})


def _status(client: FlaskClient, d: Any, status: str, code: str = "", **kw: Any) -> Any:
    form = {"MessageSid": d.provider_id, "MessageStatus": status, "To": d.address,
            "AccountSid": SANDBOX_CREDENTIALS["twilio"]["account_sid"],
            **({"ErrorCode": code} if code else {})}
    return _twilio(client, "/webhooks/twilio/status", form, query=f"delivery={d.id}", **kw)


@pytest.fixture
def hook(app: Flask, monkeypatch: pytest.MonkeyPatch) -> EventWebhook:
    """Return a SendGrid signing key whose public half the app trusts."""
    key = EventWebhook.generate("http://127.0.0.1/unused")
    monkeypatch.setitem(app.config, "SENDGRID_WEBHOOK_PUBLIC_KEY", key.public_key())
    return key


def _events(client: FlaskClient, key: EventWebhook, events: list[dict[str, Any]], *,
            age: float = 0, tamper: bool = False) -> Any:
    body = json.dumps(events).encode()
    headers = key.sign(body, str(int(time.time() - age)))
    if tamper:
        body = body.replace(b'"delivered"', b'"bounce"')
    return client.post("/webhooks/sendgrid/events", data=body, headers=headers,
                       content_type="application/json")


def _sg(kind: str, d: Any, **extra: Any) -> dict[str, Any]:
    return sendgrid_event(kind, d.address, d.provider_id.split(".")[0],
                          {"delivery_id": str(d.id), "language": d.language}, **extra)


@pytest.fixture
def telegram(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "TELEGRAM_WEBHOOK_SECRET", SECRET)
    return f"/webhooks/telegram/{SECRET}"


def _update(client: FlaskClient, path: str, update: dict[str, Any],
            secret: str = SECRET) -> Any:
    return client.post(path, json=update, headers={TG_HEADER: secret})


def _message(update_id: int, chat_id: str, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": int(chat_id), "type": "private"},
        "from": {"id": int(chat_id), "is_bot": False, "first_name": "Kund"}}}


def _staff(app: Flask, channel: str) -> list[str]:
    with app.app_context(), db.transaction() as s:
        from notifier.models import Segment, SubscriberSegment
        return list(s.scalars(select(Subscription.address).join(
            SubscriberSegment, SubscriberSegment.subscriber_id == Subscription.subscriber_id)
            .join(Segment).where(Segment.key == "staff", Subscription.channel == channel)
            .order_by(Subscription.id)))


# --- Twilio status callbacks -------------------------------------------------------------------

def test_forged_twilio_callbacks_are_refused_and_change_nothing(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    d = _send(app, "sms")[0]
    proxy_url = f"http://localhost/webhooks/twilio/status?delivery={d.id}"  # what Flask sees
    for kw in ({"signature": ""}, {"signature": "bm90IGEgc2lnbmF0dXJl"},
               {"signed_url": proxy_url}):
        resp = _status(client, d, "delivered", **kw)
        assert resp.status_code == 403, kw
        assert "X-Twilio-Signature" in resp.get_json()["error"]
    tampered = _status(client, d, "delivered", signature=RequestValidator(TOKEN).compute_signature(
        f"{app.config['PUBLIC_URL']}/webhooks/twilio/status?delivery={d.id}",
        {"MessageSid": d.provider_id, "MessageStatus": "undelivered"}))
    assert tampered.status_code == 403
    assert _row(app, d.id).status == "sent"
    with app.app_context(), db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_valid_callback_moves_sent_to_delivered_and_a_replay_changes_nothing(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    d = _send(app, "sms")[0]
    assert _status(client, d, "sent").status_code == 204
    assert _row(app, d.id).status == "sent"
    assert _status(client, d, "delivered").status_code == 204
    first = _row(app, d.id)
    assert first.status == "delivered" and first.delivered_at is not None

    assert _status(client, d, "delivered").status_code == 204  # Twilio's signature never expires
    assert _row(app, d.id).delivered_at == first.delivered_at
    with app.app_context(), db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 2


def test_states_only_move_forward(app: Flask, client: FlaskClient, demo: Any,
                                  sandbox: SandboxClient) -> None:
    d = _send(app, "sms")[0]
    _status(client, d, "undelivered", "30003")
    late = _status(client, d, "delivered")
    assert late.status_code == 204
    row = _row(app, d.id)
    assert (row.status, row.error_code, row.delivered_at) == ("undelivered", "30003", None)
    assert row.error == "Twilio 30003: unreachable handset"
    assert _subscription(app, "sms", d.address) == "active"  # a handset off is not a bounce


def test_a_receipt_that_overtakes_the_worker_finds_its_delivery_by_id(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    notice_id = _confirm(app, ("sms",))
    ids = [d.id for d in _rows(app, notice_id, "sms")]
    with app.app_context(), db.transaction() as s:
        [claimed, *_] = deliveries.claim(s, notice_id, "sms", min(ids), max(ids),
                                         utcnow() + timedelta(seconds=60)).deliveries
    d = _row(app, claimed.id)
    d.provider_id = "SM" + "a" * 32
    assert d.status == "sending"
    assert _status(client, d, "delivered").status_code == 204
    row = _row(app, d.id)
    assert (row.status, row.provider_id) == ("delivered", d.provider_id)
    assert row.sent_at is not None and row.lease_until is None


def test_undelivered_codes_mark_the_subscription_and_later_notices_skip_it(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    stop, unknown, off = _send(app, "sms")
    _status(client, stop, "failed", "21610")
    _status(client, unknown, "undelivered", "30005")
    _status(client, off, "undelivered", "30003")
    assert [_row(app, d.id).status for d in (stop, unknown, off)] == ["undelivered"] * 3
    assert _subscription(app, "sms", stop.address) == "opted_out"
    assert _subscription(app, "sms", unknown.address) == "bounced"
    assert _planned(app, "sms") == {off.address}


# --- Twilio inbound SMS ------------------------------------------------------------------------

def _inbound(client: FlaskClient, sender: str, body: str, sid: str) -> Any:
    return _twilio(client, "/webhooks/twilio/inbound",
                   {"MessageSid": sid, "From": sender, "To": "+46766860000", "Body": body})


def test_stopp_by_sms_opts_out_and_is_confirmed_in_swedish(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    phone = _staff(app, "sms")[0]
    resp = _inbound(client, phone, "Stopp", "SM" + "1" * 32)
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    assert "Du får inga fler meddelanden från Solvik Energi AB" in resp.get_data(as_text=True)
    assert _subscription(app, "sms", phone) == "opted_out"
    assert phone not in _planned(app, "sms")

    replay = _inbound(client, phone, "Stopp", "SM" + "1" * 32)
    assert "<Message>" not in replay.get_data(as_text=True)  # nobody is texted twice


def test_twilio_handles_its_own_stop_word_we_only_record_it(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    phone = _staff(app, "sms")[1]
    resp = _inbound(client, phone, "STOP", "SM" + "2" * 32)
    assert "<Message>" not in resp.get_data(as_text=True)
    assert _subscription(app, "sms", phone) == "opted_out"


def test_status_by_sms_answers_with_the_banner_text(app: Flask, client: FlaskClient,
                                                    demo: Any) -> None:
    phone = _staff(app, "sms")[0]
    quiet = _inbound(client, phone, "status", "SM" + "3" * 32).get_data(as_text=True)
    assert "Vi känner inte till någon störning just nu." in quiet
    _confirm(app, ("banner",))
    answer = _inbound(client, phone, "STATUS", "SM" + "4" * 32).get_data(as_text=True)
    assert "020" in answer and "08-123 45 67" in answer
    assert _subscription(app, "sms", phone) == "active"


def test_inbound_sms_with_a_forged_signature_is_refused(app: Flask, client: FlaskClient,
                                                        demo: Any) -> None:
    phone = _staff(app, "sms")[0]
    resp = client.post("/webhooks/twilio/inbound", data={"MessageSid": "SM" + "5" * 32,
                                                         "From": phone, "Body": "STOPP"},
                       headers={"X-Twilio-Signature": "forged"})
    assert resp.status_code == 403
    assert _subscription(app, "sms", phone) == "active"


# --- SendGrid event webhook --------------------------------------------------------------------

def test_signed_sendgrid_events_are_applied(app: Flask, client: FlaskClient, demo: Any,
                                            sandbox: SandboxClient, hook: EventWebhook) -> None:
    ok, bounced, gone = _send(app, "email")
    resp = _events(client, hook, [_sg("processed", ok), _sg("delivered", ok),
                                  _sg("bounce", bounced, type="bounce", status="5.1.1",
                                      reason=f"550 5.1.1 <{bounced.address}> does not exist"),
                                  _sg("delivered", gone), _sg("unsubscribe", gone)])
    assert resp.status_code == 200 and resp.get_json() == {"received": 5}
    assert _row(app, ok.id).status == "delivered"
    row = _row(app, bounced.id)
    assert (row.status, row.error_code, row.error) == ("undelivered", "5.1.1", "SendGrid bounce: bounce")
    assert _subscription(app, "email", bounced.address) == "bounced"
    assert _subscription(app, "email", gone.address) == "opted_out"
    assert _planned(app, "email") == {ok.address}


def test_unsigned_old_or_tampered_sendgrid_events_are_refused(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient,
        hook: EventWebhook, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _send(app, "email")[0]
    events = [_sg("delivered", d)]
    old = _events(client, hook, events, age=6 * 60)
    assert old.status_code == 403 and "minutes" in old.get_json()["error"]
    assert _events(client, hook, events, tamper=True).status_code == 403
    other = EventWebhook.generate("http://127.0.0.1/other")
    assert _events(client, other, events).status_code == 403
    unsigned = client.post("/webhooks/sendgrid/events", json=events)
    assert unsigned.status_code == 403
    monkeypatch.setitem(app.config, "SENDGRID_WEBHOOK_PUBLIC_KEY", None)
    unset = _events(client, hook, events)
    assert "NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY" in unset.get_json()["error"]
    assert _row(app, d.id).status == "sent"


def test_a_duplicate_sg_event_id_is_ignored(app: Flask, client: FlaskClient, demo: Any,
                                            sandbox: SandboxClient, hook: EventWebhook) -> None:
    d = _send(app, "email")[0]
    delivered = _sg("delivered", d)
    _events(client, hook, [delivered])
    echo = {**_sg("bounce", d, type="bounce", status="5.1.1"),
            "sg_event_id": delivered["sg_event_id"]}
    assert _events(client, hook, [echo, delivered]).status_code == 200
    assert _row(app, d.id).status == "delivered"
    assert _subscription(app, "email", d.address) == "active"


def test_an_event_naming_another_address_than_its_delivery_is_ignored(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient,
        hook: EventWebhook) -> None:
    d = _send(app, "email")[0]
    stray = {**_sg("bounce", d, type="bounce"), "email": "someone.else@example.org"}
    _events(client, hook, [stray])
    assert _row(app, d.id).status == "sent"
    assert _subscription(app, "email", d.address) == "active"


# --- Telegram ----------------------------------------------------------------------------------

def test_telegram_updates_need_the_secret_in_url_and_header(
        app: Flask, client: FlaskClient, demo: Any, telegram: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _staff(app, "telegram")[0]
    blocked = {"update_id": 1, "my_chat_member": {
        "chat": {"id": int(chat), "type": "private"}, "date": 0,
        "from": {"id": int(chat), "is_bot": False, "first_name": "Kund"},
        "old_chat_member": {"status": "member"}, "new_chat_member": {"status": "kicked"}}}
    assert _update(client, telegram, blocked, secret="wrong").status_code == 403
    assert client.post(telegram, json=blocked).status_code == 403
    assert _update(client, "/webhooks/telegram/wrong", blocked).status_code == 403
    monkeypatch.setitem(app.config, "TELEGRAM_WEBHOOK_SECRET", None)
    assert _update(client, telegram, blocked).status_code == 403
    assert _subscription(app, "telegram", chat) == "active"


def test_a_blocked_bot_opts_the_chat_out_and_later_notices_skip_it(
        app: Flask, client: FlaskClient, demo: Any, telegram: str) -> None:
    chat = _staff(app, "telegram")[0]
    blocked = {"update_id": 2, "my_chat_member": {
        "chat": {"id": int(chat), "type": "private"}, "date": 0,
        "from": {"id": int(chat), "is_bot": False, "first_name": "Kund"},
        "old_chat_member": {"status": "member"}, "new_chat_member": {"status": "kicked"}}}
    assert _update(client, telegram, blocked).get_json() == {"ok": True}
    assert _subscription(app, "telegram", chat) == "opted_out"
    assert chat not in _planned(app, "telegram")


def test_telegram_status_stop_and_start_are_answered_through_the_bot(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient, telegram: str) -> None:
    chat = _staff(app, "telegram")[0]
    _confirm(app, ("banner",))
    assert _update(client, telegram, _message(10, chat, "/status")).status_code == 200
    assert _update(client, telegram, _message(10, chat, "/status")).status_code == 200  # retried
    [reply] = sandbox.messages(channel="telegram", to=chat)
    assert "020" in reply["body"] and "08-123 45 67" in reply["body"]

    _update(client, telegram, _message(11, chat, "/start"))
    _update(client, telegram, _message(12, chat, "/stop@notifier_sandbox_bot"))
    replies = [m["body"] for m in sandbox.messages(channel="telegram", to=chat)]
    assert "/status" in replies[1]
    assert "Solvik Energi AB" in replies[2]
    assert _subscription(app, "telegram", chat) == "opted_out"


# --- end to end: a worker, the sandbox's callbacks, a real HTTP server -------------------------

@pytest.fixture
def live(app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the app over HTTP and make it the public URL the providers call back."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    env["NOTIFIER_PUBLIC_URL"] = url  # for the worker processes started afterwards
    monkeypatch.setitem(app.config, "PUBLIC_URL", url)
    monkeypatch.setitem(app.config, "PUBLIC_URL_EXPLICIT", True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()
    thread.join(5)


def _statuses(app: Flask, notice_id: int, channel: str) -> dict[str, str]:
    return {d.address: d.status for d in _rows(app, notice_id, channel)}


def test_receipts_from_the_sandbox_reach_the_app_end_to_end(
        app: Flask, demo: Any, sandbox: SandboxClient, worker: Any, live: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SENDGRID_WEBHOOK_PUBLIC_KEY",
                        sandbox.sendgrid_event_webhook(f"{live}/webhooks/sendgrid/events"))
    phones, emails = _staff(app, "sms"), _staff(app, "email")
    sandbox.fault("sms", "undeliverable", addresses=phones[:1])
    sandbox.fault("email", "undeliverable", addresses=emails[:1])
    worker()
    notice_id = _confirm(app, ("sms", "email"))
    with app.app_context(), db.transaction() as s:
        enqueueing.enqueue(s, s.get(Notice, notice_id))

    def settled() -> bool:
        return all(st in ("delivered", "undelivered") for ch in ("sms", "email")
                   for st in _statuses(app, notice_id, ch).values())

    wait_until(settled, timeout=90, what="every receipt to arrive")
    for channel, addresses in (("sms", phones), ("email", emails)):
        assert _statuses(app, notice_id, channel) == {
            addresses[0]: "undelivered", addresses[1]: "delivered", addresses[2]: "delivered"}
        assert _subscription(app, channel, addresses[0]) == "bounced"
    wait_until(lambda: sum(c["kind"] == "twilio" for c in sandbox.callbacks()) == 3 * 2,
               timeout=30, what="the sandbox to log its callbacks")
    assert {(c["kind"], c.get("code")) for c in sandbox.callbacks()} == {
        ("twilio", 204), ("sendgrid", 200)}


def _redis_dump(redis: Any) -> tuple[list[str], list[str]]:
    """Return every key, and every job's arguments, description and meta, as text."""
    from rq.job import Job

    keys = [k.decode() for k in redis.keys("*")]
    jobs = []
    for key in keys:
        if key.startswith("rq:job:") and redis.type(key) == b"hash":
            job = Job.fetch(key.removeprefix("rq:job:"), connection=redis)
            jobs.append(repr((job.args, job.kwargs, job.description, job.meta)))
    return keys, jobs


def test_no_personal_data_in_redis_keys_or_job_payloads_during_a_send(
        app: Flask, demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    from notifier import queues

    worker()
    notice_id = _confirm(app, ("sms", "email", "telegram"), ())
    with app.app_context(), db.transaction() as s:
        enqueueing.enqueue(s, s.get(Notice, notice_id))
    with app.app_context():
        redis = queues.redis()
        wait_until(lambda: dispatch.is_finished(_progress(app, notice_id)), timeout=90,
                   what="the notice to finish")
        keys, jobs = _redis_dump(redis)
    with app.app_context(), db.transaction() as s:
        addresses = list(s.scalars(select(Subscription.address)))
    assert jobs, "no job was left in Redis to inspect"
    personal = addresses + [a.lstrip("+") for a in addresses if a.startswith("+")]
    leaks = [(p, text) for p in personal for text in keys + jobs if p in text]
    assert leaks == []


def _progress(app: Flask, notice_id: int) -> dict[str, dict[str, int]]:
    with app.app_context(), db.transaction() as s:
        return dispatch.progress(s, notice_id)


def test_a_receipt_for_an_unknown_message_is_recorded_and_ignored(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    sent = _send(app, "sms")
    resp = _twilio(client, "/webhooks/twilio/status",
                   {"MessageSid": "SM" + "f" * 32, "MessageStatus": "undelivered",
                    "ErrorCode": "30005"})
    assert resp.status_code == 204
    assert {_row(app, d.id).status for d in sent} == {"sent"}
