"""The retry policy: how long to wait after a provider fails, and when to stop trying.

A crisis notice must survive a provider that is down for minutes: transient failures (5xx, 429,
timeouts, network errors, an open circuit) are retried with capped exponential backoff until the
notice's delivery deadline, or until the notice is cancelled or superseded. Only permanent errors
fail at once. A delivery that has failed transiently for longer than the fallback delay goes by
the notice's fallback channel, if it has one.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

BACKOFF_CAP = 30.0          # seconds: a degraded provider is tried again at least twice a minute
DEFAULT_DEADLINE = 120      # minutes after a notice starts (NOTIFIER_DELIVERY_DEADLINE)
DEFAULT_FALLBACK_AFTER = 10  # minutes of transient failures (NOTIFIER_FALLBACK_AFTER)


def delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds until the next try: the provider's Retry-After, or exponential with jitter."""
    if retry_after:
        return max(1.0, retry_after)
    return max(1.0, min(BACKOFF_CAP, 2.0 ** attempt) * (0.5 + random.random() / 2))


def next_try(now: datetime, attempt: int, retry_after: float | None = None) -> datetime:
    """Return when to try again, in whole seconds (outcomes retried together share one UPDATE)."""
    return now.replace(microsecond=0) + timedelta(seconds=round(delay(attempt, retry_after)))


def deadline(started: datetime, minutes: int) -> datetime:
    """Return the moment after which a delivery that keeps failing is given up on."""
    return started + timedelta(minutes=minutes)
