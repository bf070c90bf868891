"""What every channel adapter shares: messages, outcomes, settings, the adapter protocol."""
from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from notifier.config import ProviderSettings

PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


class Result(str, enum.Enum):
    """What became of one message at the provider."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True)
class Message:
    """One rendered message for one delivery."""

    delivery_id: int
    address: str
    language: str
    text: str
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The provider's answer for one delivery, classified.

    `call` numbers the provider calls (HTTP requests) of one `send()` from 1, so that a
    circuit breaker can count failed calls rather than failed recipients; 0 means the
    message never reached the provider.
    """

    delivery_id: int
    result: Result
    provider_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    retry_after: float | None = None
    call: int = 0


@dataclass(frozen=True)
class Failure:
    """A provider error as an adapter's `classify` reads it, before it is tied to a delivery."""

    result: Result
    code: str
    error: str
    retry_after: float | None = None

    def outcome(self, delivery_id: int, call: int) -> Outcome:
        """Return this failure as the outcome of one delivery."""
        return Outcome(delivery_id, self.result, error_code=self.code, error=self.error,
                       retry_after=self.retry_after, call=call)


@dataclass(frozen=True)
class AdapterSettings:
    """Everything an adapter is built from: where the provider is and how to talk to it."""

    provider: ProviderSettings
    callback_url: str | None = None  # where the provider reports delivery (SMS)
    concurrency: int = 8             # provider calls in flight at once
    timeout: float = 10.0            # seconds per provider call
    validity: int = 3600             # seconds an SMS may wait at the provider before it is dropped


class ChannelAdapter(Protocol):
    """Turn rendered messages into provider calls and provider answers into outcomes."""

    channel: str

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return exactly one outcome per message, never raise for a provider answer."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def scrub(text: str) -> str:
    """Remove phone numbers from a provider's error text (Twilio's name the recipient)."""
    return PHONE.sub("<number>", text)


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Read a Retry-After header (seconds or an HTTP date) as seconds; None when absent or unreadable."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return float(Retry().parse_retry_after(str(value)))
    except InvalidHeader:
        return None
