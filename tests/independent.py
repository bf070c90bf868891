"""Provider simulators written apart from the notifier's own sandbox, from the providers' docs.

They share no code with notifier/sandbox, so an engine test against them cannot pass because
both sides share a mistake. Each answers only what the real API answers to a valid request and
records what each recipient received, in order.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Providers:
    """What the simulators received: (channel, address) -> texts, in arrival order."""

    url: str = ""
    received: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self, channel: str) -> dict[str, list[str]]:
        """Return what each address got on one channel."""
        with self.lock:
            return {a: list(t) for (c, a), t in self.received.items() if c == channel}

    def count(self, channel: str) -> int:
        """Count the messages received on one channel."""
        with self.lock:
            return sum(len(t) for (c, _a), t in self.received.items() if c == channel)

    def _keep(self, channel: str, address: str, text: str) -> None:
        with self.lock:
            self.received[(channel, address)].append(text)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path.startswith("/2010-04-01/Accounts/") and path.endswith("/Messages.json"):
            response = self._twilio(request)
        elif path == "/v3/mail/send":
            response = self._sendgrid(request)
        elif path.startswith("/bot"):
            response = self._telegram(request, path.rsplit("/", 1)[-1])
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _twilio(self, request: Request) -> Response:
        # https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic ") or ":" not in base64.b64decode(auth[6:]).decode():
            return Response(json.dumps({"code": 20003, "message": "Authenticate",
                                        "status": 401}), status=401,
                            content_type="application/json")
        form = parse_qs(request.get_data(as_text=True))
        to, body = form["To"][0], form["Body"][0]
        self._keep("sms", to, body)
        sid = "SM" + uuid.uuid4().hex
        return Response(json.dumps({"sid": sid, "to": to, "body": body, "status": "queued",
                                    "num_segments": "1", "direction": "outbound-api"}),
                        status=201, content_type="application/json")

    def _sendgrid(self, request: Request) -> Response:
        # https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return Response(json.dumps({"errors": [{"message": "authorization required"}]}),
                            status=401, content_type="application/json")
        mail = request.get_json()
        text = next(c["value"] for c in mail["content"] if c["type"] == "text/plain")
        for p in mail["personalizations"]:
            for to in p["to"]:
                self._keep("email", to["email"], text)
        return Response("", status=202, headers={"X-Message-Id": uuid.uuid4().hex[:22]})

    def _telegram(self, request: Request, method: str) -> Response:
        # https://core.telegram.org/bots/api#making-requests
        params = dict(request.form) or (request.get_json(silent=True) or {})
        if method == "getMe":
            result: Any = {"id": 4242, "is_bot": True, "first_name": "Notices",
                           "username": "notices_bot"}
        elif method == "sendMessage":
            chat_id, text = str(params["chat_id"]), str(params["text"])
            self._keep("telegram", chat_id, text)
            result = {"message_id": int(time.time() * 1000) % 2**31, "date": int(time.time()),
                      "chat": {"id": int(chat_id), "type": "private"}, "text": text}
        else:
            return Response(json.dumps({"ok": False, "error_code": 404,
                                        "description": "Not Found"}),
                            status=404, content_type="application/json")
        return Response(json.dumps({"ok": True, "result": result}),
                        content_type="application/json")


@contextmanager
def running() -> Iterator[Providers]:
    """Serve the simulators on a free port for the length of a test."""
    providers = Providers()
    server = make_server("127.0.0.1", 0, providers, threaded=True)
    providers.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield providers
    finally:
        server.shutdown()
        thread.join(5)
