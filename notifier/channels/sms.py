"""SMS through Twilio's Messages API, with the official SDK."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.rest import Client

from .base import AdapterSettings, Failure, Message, Outcome, Result, retry_after, scrub
from .transports.twilio import TwilioTransport

log = logging.getLogger(__name__)

# https://www.twilio.com/docs/api/errors: 21610 the recipient replied STOP; 20429 too many
# requests, 20500/20503 Twilio's own trouble. Any other code is a verdict on this message.
OPTED_OUT_CODES = {21610}
RETRY_CODES = {20429, 20500, 20503}


def classify(error: Exception, headers: Mapping[str, str] | None = None) -> Failure:
    """Read a Twilio SDK error (or a network error) as retry, opted out or failed."""
    if isinstance(error, (requests.RequestException, OSError)):
        kind = "timeout" if isinstance(error, requests.Timeout) else "network"
        return Failure(Result.RETRY, kind, f"Twilio could not be reached ({type(error).__name__})")
    status, code, text = _answer(error)
    error_code, message = str(code or status), scrub(text or f"HTTP {status}")
    if code in OPTED_OUT_CODES:
        return Failure(Result.OPTED_OUT, error_code, message)
    if code in RETRY_CODES or status == 429 or status >= 500:
        return Failure(Result.RETRY, error_code, message, retry_after(headers))
    if status == 401:
        message = "Twilio refused the account SID or auth token: check NOTIFIER_TWILIO_* settings"
    return Failure(Result.FAILED, error_code, message)


def _answer(error: Exception) -> tuple[int, int | None, str]:
    if isinstance(error, TwilioRestException):
        return int(error.status), error.code, str(error.msg)
    if isinstance(error, TwilioServiceException):
        return int(error.status), error.code, str(error.title)
    return 0, None, type(error).__name__


class SmsAdapter:
    """Send SMS through Twilio, one call per message, several at once."""

    channel = "sms"

    def __init__(self, settings: AdapterSettings, transport: TwilioTransport | None = None) -> None:
        creds = settings.provider.credentials
        self._http = transport or TwilioTransport(settings.provider.api_url,
                                                  pool_size=settings.concurrency,
                                                  timeout=settings.timeout)
        self._client = Client(creds["account_sid"], creds["auth_token"], http_client=self._http)
        self._sender = {"messaging_service_sid": creds["messaging_service_sid"]} \
            if creds.get("messaging_service_sid") else {"from_": creds.get("sender", "")}
        self._settings = settings

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        calls = list(enumerate(messages, start=1))
        workers = min(max(1, self._settings.concurrency), len(calls))
        if workers <= 1:
            return [self._send_one(call, m) for call, m in calls]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda item: self._send_one(*item), calls))

    def _send_one(self, call: int, message: Message) -> Outcome:
        extra: dict[str, Any] = {}
        if self._settings.callback_url:
            # The delivery id rides along so a receipt that overtakes the worker's own record of
            # the send (common in a large chunk) still finds its delivery.
            joiner = "&" if "?" in self._settings.callback_url else "?"
            extra["status_callback"] = f"{self._settings.callback_url}{joiner}" \
                                       f"delivery={message.delivery_id}"
        try:
            sent = self._client.messages.create(to=message.address, body=message.text,
                                                validity_period=self._settings.validity,
                                                **self._sender, **extra)
        except (TwilioRestException, TwilioServiceException, requests.RequestException,
                OSError) as exc:
            failure = classify(exc, self._http.last_headers())
            log.info("twilio refused delivery %d: %s", message.delivery_id, failure.code)
            return failure.outcome(message.delivery_id, call)
        return Outcome(message.delivery_id, Result.SENT, provider_id=sent.sid, call=call)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()
