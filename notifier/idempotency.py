"""Confirm once: a confirmation presented again returns the notices it made, never new ones.

The console binds a one-time token to the preview it confirms, the command line derives a key from
its arguments (or takes --idempotency-key), the API takes the Idempotency-Key header. The key row
is written in the same transaction as the notice, so two confirmations racing on one key end with
one notice: the second waits for the first (or fails on the unique key and is retried) and then
finds the first one's notices.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .errors import NotifierError
from .models import IdempotencyKey

# How long a key is remembered: a console tab can be re-posted hours later; a retried command
# line within minutes; an API client retries within a day.
TTL = {"console": timedelta(hours=12), "cli": timedelta(minutes=10), "api": timedelta(hours=24)}


class IdempotencyError(NotifierError):
    """A key was presented again with a different request."""


@dataclass(frozen=True)
class Key:
    """One confirmation's identity: where it came from, its key, and what it asked for."""

    scope: str
    value: str
    fingerprint: str


def fingerprint(*parts: Any) -> str:
    """Return a stable digest of what was asked for."""
    data = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def seen(s: Session, key: Key) -> list[int] | None:
    """Return the notice ids made under this key, or None when it is new (or expired)."""
    row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == key.scope,
                                                IdempotencyKey.key == key.value,
                                                IdempotencyKey.expires_at > utcnow()))
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise IdempotencyError(
            "This confirmation key was already used for a different notice. Preview again and "
            "confirm the new preview (or give the command line another --idempotency-key).")
    row.count += 1
    return [int(i) for i in row.notice_ids]


def claim(s: Session, key: Key) -> IdempotencyKey:
    """Write the key before the notice, so a concurrent confirmation with it waits or fails."""
    s.execute(delete(IdempotencyKey).where(IdempotencyKey.scope == key.scope,
                                           IdempotencyKey.key == key.value,
                                           IdempotencyKey.expires_at <= utcnow()))
    row = IdempotencyKey(scope=key.scope, key=key.value[:128], fingerprint=key.fingerprint,
                         notice_ids=[], expires_at=utcnow() + TTL[key.scope])
    s.add(row)
    s.flush()
    return row


def forget_expired(s: Session) -> int:
    """Delete keys past their time (the reconciler calls this now and then)."""
    result = s.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
