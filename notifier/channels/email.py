"""Email through SendGrid's v3 Mail Send API, with the official SDK."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from notifier.config import ProviderSettings

from .base import Message, Outcome, Result

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000
REAL_HOST = "https://api.sendgrid.com"


@dataclass(frozen=True)
class _Refusal:
    """SendGrid's answer to a request that was not accepted."""

    status: int  # 0 when no HTTP answer came back
    retry_after: float | None
    text: str
    code: str = ""
    # A 400 about the recipients (or not saying) is worth splitting; one about subject, from
    # or content would fail every half alike.
    per_recipient: bool = False


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    return str(value) if value is not None else None


def _retry_after(headers: Any) -> float | None:
    value = _header(headers, "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _http_refusal(exc: HTTPError) -> _Refusal:
    """Read SendGrid's error body; keep its message, not the field path naming a recipient."""
    try:
        error = json.loads(exc.body or b"{}")["errors"][0]
        text, field = str(error["message"]), str(error.get("field") or "")
    except (ValueError, KeyError, IndexError, TypeError):
        text, field = "request refused", ""
    status = int(exc.status_code)
    return _Refusal(status, _retry_after(exc.headers), text, str(status),
                    per_recipient=not field or field.startswith("personalizations"))


def _network_refusal(exc: OSError) -> _Refusal:
    timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None),
                                                            TimeoutError)
    return _Refusal(0, None, f"SendGrid could not be reached ({type(exc).__name__})",
                    "timeout" if timed_out else "network")


# Addresses were validated and normalised with email-validator when they were imported; here a
# cheap shape check is enough to keep one broken row from getting a whole request refused, and
# it costs microseconds instead of the tenths of a millisecond a full validation takes.
_SHAPE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]{2,}$")


def _is_valid(address: str) -> bool:
    return bool(_SHAPE.match(address))


def _personalization(m: Message) -> dict[str, Any]:
    """One recipient of a request, with its one-click unsubscribe headers (RFC 8058)."""
    one: dict[str, Any] = {"to": [{"email": m.address}], "custom_args": {
        "delivery_id": str(m.delivery_id), "language": m.language}}
    if m.unsubscribe_url:
        one["headers"] = {"List-Unsubscribe": f"<{m.unsubscribe_url}>",
                          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return one


def _content_key(message: Message) -> tuple[str, str, str]:
    return (message.subject or "", message.text, message.html or "")


class EmailAdapter:
    """Send email through SendGrid and classify its answers."""

    channel = "email"

    def __init__(self, settings: ProviderSettings, *, timeout: float = 10) -> None:
        creds = settings.credentials
        self._client = SendGridAPIClient(creds["api_key"], host=settings.api_url or REAL_HOST)
        self._client.client.timeout = timeout
        self._sender = creds.get("sender", "")

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        outcomes: dict[int, Outcome] = {}
        valid: list[Message] = []
        for m in messages:
            if _is_valid(m.address):
                valid.append(m)
            else:
                outcomes[m.delivery_id] = Outcome(m.delivery_id, Result.FAILED,
                                                  error_code="invalid_address",
                                                  error="not a valid email address")
        for batch in self._batches(valid):
            for outcome in self._send_batch(batch):
                outcomes[outcome.delivery_id] = outcome
        return [outcomes[m.delivery_id] for m in messages]

    @staticmethod
    def _batches(messages: Sequence[Message]) -> Iterator[list[Message]]:
        """Group messages by identical content, in requests of at most 1000 recipients."""
        ordered = sorted(messages, key=_content_key)
        for _, group in groupby(ordered, key=_content_key):
            items = list(group)
            for start in range(0, len(items), MAX_PERSONALIZATIONS):
                yield items[start:start + MAX_PERSONALIZATIONS]

    def _send_batch(self, batch: list[Message]) -> list[Outcome]:
        """Send one request; split a refused (400) batch in halves to isolate bad addresses."""
        answer = self._post(batch)
        if isinstance(answer, str):
            return [Outcome(m.delivery_id, Result.SENT, provider_id=answer)
                    for m in batch]
        if answer.status == 400 and answer.per_recipient and len(batch) > 1:
            half = len(batch) // 2
            return self._send_batch(batch[:half]) + self._send_batch(batch[half:])
        return [self._classify(m, answer) for m in batch]

    def _post(self, batch: list[Message]) -> str | _Refusal:
        """Post one request; return the X-Message-Id, or the refusal."""
        try:
            response = self._client.send(self._body(batch))
        except HTTPError as exc:
            return _http_refusal(exc)
        except OSError as exc:  # URLError, timeouts, refused connections
            log.warning("sendgrid unreachable for %d recipients: %s", len(batch),
                        type(exc).__name__)
            return _network_refusal(exc)
        if response.status_code != 202:
            status = int(response.status_code)
            return _Refusal(status, None, f"unexpected HTTP {status}", str(status))
        return _header(response.headers, "X-Message-Id") or ""

    def _body(self, batch: list[Message]) -> dict[str, Any]:
        first = batch[0]
        content = [{"type": "text/plain", "value": first.text}]
        if first.html:
            content.append({"type": "text/html", "value": first.html})
        return {
            "personalizations": [_personalization(m) for m in batch],
            "from": {"email": self._sender},
            "subject": first.subject or "",
            "content": content,
        }

    @staticmethod
    def _classify(message: Message, refusal: _Refusal) -> Outcome:
        status, code = refusal.status, refusal.code
        if status in (401, 403):
            return Outcome(message.delivery_id, Result.FAILED, error_code=str(status),
                           error="SendGrid refused the API key (wrong, revoked or without Mail "
                                 "Send permission): check NOTIFIER_SENDGRID_API_KEY")
        if status == 0 or status == 429 or status >= 500:
            return Outcome(message.delivery_id, Result.RETRY, error_code=code,
                           error=refusal.text, retry_after=refusal.retry_after)
        return Outcome(message.delivery_id, Result.FAILED, error_code=code, error=refusal.text)

    def close(self) -> None:
        """Release connections (python-http-client opens one per request, so nothing is held)."""
