"""Email through SendGrid's v3 Mail Send API, with the official SDK."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from itertools import count, groupby

from .base import AdapterSettings, Failure, Message, Outcome, Result, retry_after
from .transports.sendgrid import Reply, SendGridTransport, mail_send

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000  # recipients per request, SendGrid's limit
# Addresses were normalised when they were imported; a cheap shape check keeps one broken row
# from getting a whole request refused, at microseconds instead of a full validation.
_SHAPE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]{2,}$")
NOT_AN_ADDRESS = Failure(Result.FAILED, "invalid_address", "not a valid email address")


def classify(error: Reply | OSError) -> Failure:
    """Read SendGrid's answer to a refused request (or a network error) as retry or failed."""
    if isinstance(error, OSError):  # URLError, timeouts, refused connections
        timed_out = isinstance(error, TimeoutError) or \
            isinstance(getattr(error, "reason", None), TimeoutError)
        return Failure(Result.RETRY, "timeout" if timed_out else "network",
                       f"SendGrid could not be reached ({type(error).__name__})")
    status, code = error.status, str(error.status)
    if status in (401, 403):
        return Failure(Result.FAILED, code, "SendGrid refused the API key (wrong, revoked or "
                       "without Mail Send permission): check NOTIFIER_SENDGRID_API_KEY")
    if status == 429 or status >= 500:
        return Failure(Result.RETRY, code, _error(error)[0], retry_after(error.headers))
    return Failure(Result.FAILED, code, _error(error)[0])


def _error(reply: Reply) -> tuple[str, str]:
    """Return SendGrid's first error message and field (the field may name a recipient: not kept)."""
    try:
        error = json.loads(reply.body or b"{}")["errors"][0]
        return str(error["message"]), str(error.get("field") or "")
    except (ValueError, KeyError, IndexError, TypeError):
        return (f"unexpected HTTP {reply.status}" if reply.status < 400 else "request refused"), ""


def _splittable(reply: Reply) -> bool:
    # A 400 about the recipients (or not saying) is worth splitting to find the bad address;
    # one about subject, from or content would fail every half alike.
    field = _error(reply)[1]
    return reply.status == 400 and (not field or field.startswith("personalizations"))


def _content(message: Message) -> tuple[str, str, str]:
    return (message.subject or "", message.text, message.html or "")


class EmailAdapter:
    """Send email through SendGrid: one request per content, up to 1000 recipients each."""

    channel = "email"

    def __init__(self, settings: AdapterSettings,
                 transport: SendGridTransport | None = None) -> None:
        creds = settings.provider.credentials
        self._http = transport or SendGridTransport(settings.provider.api_url, creds["api_key"],
                                                    timeout=settings.timeout)
        self._sender = creds.get("sender", "")

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        outcomes = {m.delivery_id: NOT_AN_ADDRESS.outcome(m.delivery_id, 0) for m in messages
                    if not _SHAPE.match(m.address)}
        calls = count(1)
        for batch in _batches([m for m in messages if m.delivery_id not in outcomes]):
            outcomes.update((o.delivery_id, o) for o in self._send_batch(batch, calls))
        return [outcomes[m.delivery_id] for m in messages]

    def _send_batch(self, batch: list[Message], calls: Iterator[int]) -> list[Outcome]:
        """Send one request; split a refused (400) batch in halves to isolate bad addresses."""
        call = next(calls)
        try:
            reply = self._http.post(mail_send(batch, self._sender))
        except OSError as exc:
            log.warning("sendgrid unreachable for %d recipients: %s", len(batch),
                        type(exc).__name__)
            return [classify(exc).outcome(m.delivery_id, call) for m in batch]
        if reply.status == 202:
            message_id = str(reply.headers.get("X-Message-Id") or "")
            return [Outcome(m.delivery_id, Result.SENT, provider_id=message_id, call=call)
                    for m in batch]
        if _splittable(reply) and len(batch) > 1:
            half = len(batch) // 2
            return self._send_batch(batch[:half], calls) + self._send_batch(batch[half:], calls)
        return [classify(reply).outcome(m.delivery_id, call) for m in batch]

    def close(self) -> None:
        """Release the transport."""
        self._http.close()


def _batches(messages: Sequence[Message]) -> Iterator[list[Message]]:
    """Group messages by identical content, in requests of at most 1000 recipients."""
    for _, group in groupby(sorted(messages, key=_content), key=_content):
        items = list(group)
        for start in range(0, len(items), MAX_PERSONALIZATIONS):
            yield items[start:start + MAX_PERSONALIZATIONS]
