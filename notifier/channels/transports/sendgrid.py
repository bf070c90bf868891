"""SendGrid's Mail Send endpoint through its SDK, answering with status, headers and body."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..base import Message

REAL_HOST = "https://api.sendgrid.com"


@dataclass(frozen=True)
class Reply:
    """SendGrid's answer to one request, whatever its status."""

    status: int
    headers: Mapping[str, Any] = field(default_factory=dict)
    body: bytes = b""


def mail_send(batch: Sequence[Message], sender: str) -> dict[str, Any]:
    """Return the Mail Send body of messages that share one content, one personalization each."""
    first = batch[0]
    content = [{"type": "text/plain", "value": first.text}]
    if first.html:
        content.append({"type": "text/html", "value": first.html})
    # custom_args come back in every event, so a receipt finds its delivery.
    return {"personalizations": [{"to": [{"email": m.address}], "custom_args": {
                "delivery_id": str(m.delivery_id), "language": m.language}} for m in batch],
            "from": {"email": sender}, "subject": first.subject or "", "content": content}


class SendGridTransport:
    """Post Mail Send bodies with the SendGrid SDK (python-http-client opens a connection per request)."""

    def __init__(self, api_url: str | None, api_key: str, *, timeout: float = 10) -> None:
        self._client = SendGridAPIClient(api_key, host=api_url or REAL_HOST)
        self._client.client.timeout = timeout

    def post(self, body: Mapping[str, Any]) -> Reply:
        """Post one Mail Send request; raise OSError only when no answer came back."""
        try:
            response = self._client.send(dict(body))
        except HTTPError as exc:  # the SDK raises for every 4xx and 5xx
            return Reply(int(exc.status_code), exc.headers or {}, exc.body or b"")
        return Reply(int(response.status_code), response.headers or {}, response.body or b"")

    def close(self) -> None:
        """Hold nothing: python-http-client keeps no connection between requests."""
