"""A worker's side of a batch: claim it, keep the claim, and hand back what it will not send."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Delivery
from .machine import S, move, statement


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker owns while its claim holds."""

    id: int
    address: str
    language: str
    attempts: int


@dataclass
class Claim:
    """The deliveries one batch job took, and the token that proves it still owns them."""

    token: str
    deliveries: list[Claimed] = field(default_factory=list)

    def owned(self) -> Any:
        """Return the SQL condition "still sending under this claim"."""
        return (Delivery.claim_token == self.token) & (Delivery.status == S)


def claim(s: Session, notice_id: int, channel: str, first: int, last: int,
          lease_until: datetime) -> Claim:
    """Move a range's queued deliveries to sending under a new claim token, atomically."""
    token = uuid.uuid4().hex
    rows = s.execute(statement("claim", Delivery.notice_id == notice_id, Delivery.channel == channel,
                               Delivery.id.between(first, last),
                               lease_until=lease_until, claim_token=token)
                     .returning(Delivery.id, Delivery.address, Delivery.language,
                                Delivery.attempts)).all()
    return Claim(token, sorted((Claimed(*r) for r in rows), key=lambda c: c.id))


def renew(s: Session, token: str, lease_until: datetime) -> None:
    """Extend the lease of what a claim still owns (the lease keeper's heartbeat)."""
    s.execute(update(Delivery).where(Claim(token).owned()).values(lease_until=lease_until))


def still_owned(s: Session, token: str, ids: Sequence[int]) -> set[int]:
    """Return which of these deliveries the claim still owns (another worker may have taken over)."""
    return set(s.scalars(select(Delivery.id).where(Delivery.id.in_(ids), Claim(token).owned())))


def release(s: Session, token: str, ids: Sequence[int]) -> int:
    """Hand unsent deliveries back to the queue (the notice was paused); no attempt is used."""
    return move(s, "release", Delivery.id.in_(ids), Delivery.claim_token == token,
                lease_until=None)


def stop(s: Session, token: str, ids: Sequence[int], reason: str) -> int:
    """Cancel in-flight deliveries of a notice that was cancelled or superseded."""
    return move(s, "stop", Delivery.id.in_(ids), Delivery.claim_token == token,
                lease_until=None, next_attempt_at=None, error=reason)


def hold(s: Session, token: str, ids: Sequence[int], until: datetime, reason: str) -> int:
    """Park deliveries while a provider's circuit is open; no attempt is used."""
    return move(s, "hold", Delivery.id.in_(ids), Delivery.claim_token == token,
                next_attempt_at=until, lease_until=None, error=reason)
