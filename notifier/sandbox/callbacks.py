"""Callbacks the simulators make, as the providers do: Twilio status callbacks, SendGrid events.

One background thread posts them in order, only to loopback addresses (nothing leaves this
machine), and remembers each answer for tests and the control API.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

# What an "undeliverable" fault reports: Twilio 30005 unknown handset, SendGrid 5.1.1 bounce.
TWILIO_UNDELIVERABLE = "30005"
SENDGRID_BOUNCE = {"type": "bounce", "status": "5.1.1",
                   "reason": "550 5.1.1 The email account that you tried to reach does not exist."}


def is_loopback(url: str) -> bool:
    """Tell whether a URL points at this machine (the only place the sandbox calls back)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class EventWebhook:
    """SendGrid's signed event webhook: where events go and the key that signs them."""

    url: str
    key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls, url: str) -> EventWebhook:
        """Make a fresh P-256 key pair for this URL."""
        return cls(url, ec.generate_private_key(ec.SECP256R1()))

    def public_key(self) -> str:
        """Return the verification key as SendGrid shows it: base64 of the DER public key."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: str) -> dict[str, str]:
        """Return the signature headers of one POST."""
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}


@dataclass(frozen=True)
class _Post:
    kind: str
    url: str
    headers: dict[str, str]
    form: dict[str, str] | None = None
    body: bytes | None = None


class Courier:
    """Post callbacks from one background thread, in the order they were made."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._queue: queue.Queue[_Post] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._timeout = timeout
        self.log: list[dict[str, Any]] = []
        self.event_webhook: EventWebhook | None = None

    def reset(self) -> None:
        """Forget the answers seen and the SendGrid event webhook."""
        with self._lock:
            self.log.clear()
            self.event_webhook = None

    def twilio_status(self, url: str, auth_token: str, message: Mapping[str, str],
                      undeliverable: bool) -> None:
        """Report a message sent, then delivered (or undelivered), to its StatusCallback."""
        finals = [("undelivered", TWILIO_UNDELIVERABLE)] if undeliverable else [("delivered", "")]
        for status, code in [("sent", ""), *finals]:
            form = {**message, "MessageStatus": status, "SmsStatus": status,
                    **({"ErrorCode": code} if code else {})}
            signature = RequestValidator(auth_token).compute_signature(url, form)
            self._put(_Post("twilio", url, {"X-Twilio-Signature": signature}, form=form))

    def sendgrid_events(self, events: list[dict[str, Any]]) -> None:
        """Post a batch of events to the event webhook, if one is set."""
        hook = self.event_webhook
        if hook is None or not events:
            return
        body = json.dumps(events).encode()
        headers = {"Content-Type": "application/json", **hook.sign(body, str(int(time.time())))}
        self._put(_Post("sendgrid", hook.url, headers, body=body))

    def _put(self, post: _Post) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-callbacks",
                                                daemon=True)
                self._thread.start()
        self._queue.put(post)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as http:
            while True:
                self._deliver(http, self._queue.get())

    def _deliver(self, http: httpx.Client, post: _Post) -> None:
        entry: dict[str, Any] = {"kind": post.kind, "url": post.url,
                                 "status": (post.form or {}).get("MessageStatus")}
        if not is_loopback(post.url):
            entry["error"] = "not a loopback address: the sandbox calls back only this machine"
        else:
            try:
                resp = http.post(post.url, headers=post.headers, data=post.form,
                                 content=post.body)
                entry["code"] = resp.status_code
            except httpx.HTTPError as exc:
                entry["error"] = type(exc).__name__
        with self._lock:
            self.log.append(entry)


def sendgrid_event(kind: str, email: str, message_id: str, args: Mapping[str, str],
                   **extra: Any) -> dict[str, Any]:
    """Build one event as SendGrid posts it (custom args appear as top-level fields)."""
    return {**args, "email": email, "timestamp": int(time.time()), "event": kind,
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{message_id}.filter0001.{secrets.token_hex(4)}.0", **extra}
