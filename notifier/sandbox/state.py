"""What the simulators remember: recorded messages, injected faults and call counts."""
from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from notifier.channels import SUBSCRIPTION_CHANNELS
from notifier.errors import NotifierError

FAULT_KINDS = ("error_5xx", "rate_limit", "timeout", "invalid", "blocked", "unsubscribed",
               "not_mobile", "landline", "undeliverable")
# Accepted, then reported undelivered by a status callback or a bounce event.
LATE_FAULT_KINDS = ("undeliverable",)
REQUEST_FAULT_KINDS = tuple(k for k in FAULT_KINDS if k not in LATE_FAULT_KINDS)


class SandboxFaultError(NotifierError):
    """A fault description sent to the control API is malformed."""


@dataclass
class Record:
    """One message as its recipient would have received it."""

    id: int
    channel: str
    to: str
    sender: str | None
    body: str
    provider_id: str
    subject: str | None = None
    html: str | None = None
    language: str | None = None
    custom_args: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict (`from` spelled as the providers do)."""
        data = asdict(self)
        data["from"] = data.pop("sender")
        return data


@dataclass
class Fault:
    """A misbehaviour the simulator plays for matching calls."""

    id: int
    channel: str
    kind: str
    rate: float = 1.0
    count: int | None = None
    addresses: list[str] | None = None
    retry_after: float = 1
    seconds: float = 15.0
    problem: bool = False  # Twilio only: answer in the RFC-9457 shape of its newer APIs

    def matches(self, channel: str, addresses: Iterable[str]) -> bool:
        """Tell whether this fault concerns a call on channel to these addresses."""
        if channel != self.channel or self.count == 0:
            return False
        return self.addresses is None or any(a in self.addresses for a in addresses)


def parse_fault(fault_id: int, body: Mapping[str, Any]) -> Fault:
    """Build a Fault from a control-API body, refusing anything malformed."""
    channel, kind = body.get("channel"), body.get("kind")
    if channel not in SUBSCRIPTION_CHANNELS:
        raise SandboxFaultError(f"channel must be one of {', '.join(SUBSCRIPTION_CHANNELS)}, got {channel!r}")
    if kind not in FAULT_KINDS:
        raise SandboxFaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    try:
        rate = float(body.get("rate", 1.0) if body.get("rate") is not None else 1.0)
        count = None if body.get("count") is None else int(body["count"])
        retry_after = float(body.get("retry_after") or 1)
        seconds = float(body.get("seconds") or 15.0)
    except (TypeError, ValueError) as exc:
        raise SandboxFaultError(f"rate, count, retry_after and seconds must be numbers: {exc}") from None
    addresses = body.get("addresses")
    if addresses is not None and not (isinstance(addresses, list)
                                      and all(isinstance(a, str) for a in addresses)):
        raise SandboxFaultError("addresses must be a list of strings or null")
    if not 0 <= rate <= 1:
        raise SandboxFaultError(f"rate must be between 0 and 1, got {rate}")
    if kind in LATE_FAULT_KINDS and channel == "telegram":
        raise SandboxFaultError(f"{kind} needs a delivery receipt: sms or email only")
    return Fault(fault_id, channel, kind, rate, count, addresses, retry_after, seconds,
                 bool(body.get("problem", False)))


class SandboxState:
    """Thread-safe memory of one simulator instance."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random(seed)
        self.records: list[Record] = []
        self.faults: list[Fault] = []
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._calls: Counter[str] = Counter()
        self._statuses: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.started = time.time()

    def next_id(self) -> int:
        """Return a fresh number (message ids, fault ids)."""
        with self._lock:
            return next(self._ids)

    def record(self, **fields: Any) -> Record:
        """Remember one accepted message."""
        with self._lock:
            rec = Record(id=next(self._ids), **fields)
            self.records.append(rec)
            return rec

    def messages(self, channel: str | None = None, to: str | None = None) -> list[Record]:
        """List recorded messages, oldest first."""
        with self._lock:
            return [r for r in self.records
                    if (channel is None or r.channel == channel) and (to is None or r.to == to)]

    def reset(self) -> None:
        """Forget messages and call counts."""
        with self._lock:
            self.records.clear()
            self._calls.clear()
            self._statuses.clear()
            self.started = time.time()

    def add_fault(self, body: Mapping[str, Any]) -> Fault:
        """Register a fault from a control-API body."""
        fault = parse_fault(self.next_id(), body)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()

    def draw_fault(self, channel: str, addresses: Iterable[str],
                   kinds: Iterable[str] = FAULT_KINDS) -> Fault | None:
        """Pick the first fault of these kinds that fires for this call, consuming one of its count."""
        addresses, kinds = list(addresses), set(kinds)
        with self._lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(channel, addresses) \
                        and self._random.random() < fault.rate:
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def count_call(self, channel: str, status: int) -> None:
        """Count one provider call and its HTTP status."""
        with self._lock:
            self._calls[channel] += 1
            self._statuses[channel][str(status)] += 1

    def stats(self) -> dict[str, Any]:
        """Return call counts per channel and status, and message counts per channel."""
        with self._lock:
            return {
                "since": self.started,
                "calls": dict(self._calls),
                "status": {ch: dict(c) for ch, c in self._statuses.items()},
                "messages": dict(Counter(r.channel for r in self.records)),
            }
