"""SMS through Twilio's Messages API, with the official SDK."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from notifier.config import ProviderSettings

from .base import Message, Outcome, Result

log = logging.getLogger(__name__)

OPTED_OUT_CODES = {21610}
RETRY_CODES = {20429, 20500, 20503}
PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def scrub(text: str) -> str:
    """Remove phone numbers from a provider's error text."""
    return PHONE.sub("<number>", text)


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """A TwilioHttpClient that sends every request to another root URL (sandbox, edge, proxy)."""

    def __init__(self, api_url: str | None, *, pool_size: int = 10,
                 timeout: float | None = None) -> None:
        super().__init__(pool_connections=True, timeout=timeout, logger=log)
        self._root = urlsplit(api_url) if api_url else None
        self._local = threading.local()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        assert self.session is not None
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        """Send the request to the configured root, keeping path and query."""
        if self._root is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._root.scheme, self._root.netloc, parts.path, parts.query, ""))
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    def last_headers(self) -> Mapping[str, str]:
        """Return the headers of this thread's last response (for Retry-After)."""
        return getattr(self._local, "headers", {})

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """Log nothing: request logs would carry addresses."""

    def log_response(self, status_code: int, response: Any) -> None:
        """Log nothing: response logs would carry addresses."""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SmsAdapter:
    """Send SMS through Twilio and classify its answers."""

    channel = "sms"

    def __init__(self, settings: ProviderSettings, *, status_callback_url: str | None = None,
                 validity_period: int = 3600, timeout: float = 10, concurrency: int = 8) -> None:
        creds = settings.credentials
        self._http = RebasedHttpClient(settings.api_url, pool_size=concurrency, timeout=timeout)
        self._client = Client(creds["account_sid"], creds["auth_token"], http_client=self._http)
        self._sender = {"messaging_service_sid": creds["messaging_service_sid"]} \
            if creds.get("messaging_service_sid") else {"from_": creds.get("sender", "")}
        self._callback = status_callback_url
        self._validity = validity_period
        self._concurrency = max(1, concurrency)

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        if len(messages) <= 1 or self._concurrency == 1:
            outcomes = [self._send_one(m) for m in messages]
        else:
            with ThreadPoolExecutor(min(self._concurrency, len(messages))) as pool:
                outcomes = list(pool.map(self._send_one, messages))
        return [replace(o, call=i) for i, o in enumerate(outcomes)]  # one call per message

    def _send_one(self, message: Message) -> Outcome:
        extra: dict[str, Any] = {"status_callback": self._callback_url(message)} \
            if self._callback else {}
        try:
            sent = self._client.messages.create(
                to=message.address, body=message.text, validity_period=self._validity,
                **self._sender, **extra)
        except TwilioRestException as exc:
            return self._classify(message, exc.status, exc.code, str(exc.msg))
        except TwilioServiceException as exc:
            return self._classify(message, exc.status, exc.code, exc.title)
        except (requests.RequestException, OSError) as exc:
            log.warning("twilio unreachable for delivery %d: %s", message.delivery_id,
                        type(exc).__name__)
            code = "timeout" if isinstance(exc, requests.Timeout) else "network"
            return Outcome(message.delivery_id, Result.RETRY, error_code=code,
                           error=f"Twilio could not be reached ({type(exc).__name__})")
        return Outcome(message.delivery_id, Result.SENT, provider_id=sent.sid)

    def _callback_url(self, message: Message) -> str:
        # The delivery id rides along so a receipt that overtakes the worker's own record of
        # the send (common in a large chunk) still finds its delivery.
        joiner = "&" if "?" in (self._callback or "") else "?"
        return f"{self._callback}{joiner}delivery={message.delivery_id}"

    def _classify(self, message: Message, status: int, code: int | None, text: str) -> Outcome:
        error_code = str(code or status)
        error = scrub(text or f"HTTP {status}")
        log.info("twilio refused delivery %d: %s %s", message.delivery_id, status, error_code)
        if code in OPTED_OUT_CODES:
            return Outcome(message.delivery_id, Result.OPTED_OUT, error_code=error_code, error=error)
        if code in RETRY_CODES or status == 429 or status >= 500:
            return Outcome(message.delivery_id, Result.RETRY, error_code=error_code, error=error,
                           retry_after=_retry_after(self._http.last_headers()))
        if status == 401:
            error = "Twilio refused the account SID or auth token: check NOTIFIER_TWILIO_* settings"
        return Outcome(message.delivery_id, Result.FAILED, error_code=error_code, error=error)

    def close(self) -> None:
        """Release the connection pool."""
        if self._http.session is not None:
            self._http.session.close()
