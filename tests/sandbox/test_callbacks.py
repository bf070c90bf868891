"""The simulators call back as the providers do: signed, in order, only on this machine."""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from notifier.channels.base import AdapterSettings, Message
from notifier.channels.email import EmailAdapter
from notifier.channels.sms import SmsAdapter
from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.callbacks import is_loopback
from notifier.sandbox.client import SandboxClient, SandboxClientError
from notifier.sandbox.server import SandboxServer

from ..conftest import wait_until

SG_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SG_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class Receiver:
    """A real HTTP server that remembers every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def _app(self, environ: Any, start_response: Any) -> Any:
        req = Request(environ)
        self.requests.append({"url": req.url, "headers": dict(req.headers),
                              "form": req.form.to_dict(), "body": req.get_data()})
        return Response(status=204)(environ, start_response)


@pytest.fixture
def make_settings(sandbox_server: SandboxServer) -> Any:
    def make(name: str, callback_url: str | None = None) -> AdapterSettings:
        provider = ProviderSettings(name, sandbox_server.url, True, SANDBOX_CREDENTIALS[name])
        return AdapterSettings(provider, callback_url=callback_url)

    return make


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    thread = threading.Thread(target=rec.server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def _sms(make_settings: Any, callback: str, *messages: Message) -> None:
    adapter = SmsAdapter(make_settings("twilio", callback))
    try:
        adapter.send(messages)
    finally:
        adapter.close()


def test_twilio_reports_sent_then_delivered_signed_for_the_callback_url(
        make_settings: Any, sandbox: SandboxClient, receiver: Receiver) -> None:
    callback = f"{receiver.url}/status"
    _sms(make_settings, callback, Message(7, "+46701234567", "sv", "Linjerna är nere"))
    wait_until(lambda: len(receiver.requests) == 2, timeout=10, what="two callbacks")
    validator = RequestValidator(SANDBOX_CREDENTIALS["twilio"]["auth_token"])
    for req, status in zip(receiver.requests, ("sent", "delivered"), strict=True):
        assert req["form"]["MessageStatus"] == status
        assert req["form"]["To"] == "+46701234567"
        assert validator.validate(f"{callback}?delivery=7", req["form"],
                                  req["headers"]["X-Twilio-Signature"])
    [record] = sandbox.messages(channel="sms")
    assert receiver.requests[0]["form"]["MessageSid"] == record["provider_id"]
    assert [c["code"] for c in sandbox.callbacks() if c["url"].startswith(callback)] == [204, 204]


def test_an_undeliverable_number_is_reported_undelivered_with_its_code(
        make_settings: Any, sandbox: SandboxClient, receiver: Receiver) -> None:
    sandbox.fault("sms", "undeliverable", addresses=["+46701234568"])
    _sms(make_settings, f"{receiver.url}/status", Message(1, "+46701234567", "sv", "a"),
         Message(2, "+46701234568", "sv", "b"))
    wait_until(lambda: len(receiver.requests) == 4, timeout=10, what="four callbacks")
    finals = {r["form"]["To"]: (r["form"]["MessageStatus"], r["form"].get("ErrorCode"))
              for r in receiver.requests if r["form"]["MessageStatus"] != "sent"}
    assert finals == {"+46701234567": ("delivered", None),
                      "+46701234568": ("undelivered", "30005")}
    assert len(sandbox.messages(channel="sms")) == 2  # accepted first, as Twilio does


def test_callbacks_never_leave_this_machine(make_settings: Any, sandbox: SandboxClient) -> None:
    url = "https://notifier.example/status"
    _sms(make_settings, url, Message(1, "+46701234567", "sv", "a"))

    def logged() -> list[dict[str, Any]]:
        calls = [c for c in sandbox.callbacks() if c["url"].startswith(url)]
        return calls if len(calls) == 2 else []

    calls = wait_until(logged, timeout=10, what="two callbacks logged")
    assert all("loopback" in c["error"] for c in calls)
    assert [is_loopback(u) for u in ("http://localhost:1/x", "http://[::1]/x",
                                     "http://127.0.0.2/x", "http://10.0.0.1/x")] == \
        [True, True, True, False]


def _verify(key_b64: str, req: dict[str, Any]) -> None:
    key = load_der_public_key(base64.b64decode(key_b64))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(base64.b64decode(req["headers"][SG_SIGNATURE]),
               req["headers"][SG_TIMESTAMP].encode() + req["body"], ec.ECDSA(hashes.SHA256()))


def test_sendgrid_posts_signed_events_with_custom_args_at_the_top_level(
        make_settings: Any, sandbox: SandboxClient, receiver: Receiver) -> None:
    key = sandbox.sendgrid_event_webhook(f"{receiver.url}/events")
    sandbox.fault("email", "undeliverable", addresses=["b@example.se"])
    sandbox.fault("email", "unsubscribed", addresses=["c@example.se"])
    adapter = EmailAdapter(make_settings("sendgrid"))
    adapter.send([Message(i, f"{x}@example.se", "sv", "Text", subject="Ämne")
                  for i, x in enumerate("abc", start=1)])
    [req] = wait_until(lambda: receiver.requests, timeout=10, what="the event batch")
    _verify(key, req)
    assert abs(int(req["headers"][SG_TIMESTAMP]) - time.time()) < 60
    events = json.loads(req["body"])
    assert [(e["email"], e["event"], e["delivery_id"]) for e in events] == [
        ("a@example.se", "processed", "1"), ("a@example.se", "delivered", "1"),
        ("b@example.se", "processed", "2"), ("b@example.se", "bounce", "2"),
        ("c@example.se", "dropped", "3")]
    assert events[3]["status"] == "5.1.1" and events[4]["reason"] == "Unsubscribed Address"
    assert len({e["sg_event_id"] for e in events}) == 5


def test_sendgrid_events_stop_after_a_reset(make_settings: Any, sandbox: SandboxClient,
                                            receiver: Receiver) -> None:
    sandbox.sendgrid_event_webhook(f"{receiver.url}/events")
    sandbox.reset()
    EmailAdapter(make_settings("sendgrid")).send([Message(1, "a@example.se", "sv", "T",
                                                          subject="S")])
    time.sleep(0.5)
    assert receiver.requests == []
    assert not [c for c in sandbox.callbacks() if c["kind"] == "sendgrid"]


def test_an_undeliverable_fault_is_refused_for_telegram(sandbox: SandboxClient) -> None:
    with pytest.raises(SandboxClientError, match="sms or email only"):
        sandbox.fault("telegram", "undeliverable")
