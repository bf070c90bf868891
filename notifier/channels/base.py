"""The interface every channel adapter implements."""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
    # Email: the recipient's one-click unsubscribe link (RFC 8058 List-Unsubscribe headers).
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The provider's answer for one delivery, classified."""

    delivery_id: int
    result: Result
    provider_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    retry_after: float | None = None


class ChannelAdapter(Protocol):
    """Turn rendered messages into provider calls and provider answers into outcomes."""

    channel: str

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return exactly one outcome per message, never raise for a provider answer."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
