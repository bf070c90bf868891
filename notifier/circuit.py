"""A circuit breaker per provider, shared through Redis: stop hammering a provider that fails everything.

It counts failed provider *calls*, not recipients: one SendGrid request refused for a thousand
recipients is one failure. Twenty failed calls in a row open the circuit; sends are then held
(without using attempts) until it closes, and the next chunk is a probe. Any success closes it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from redis import Redis

from .channels.base import Outcome, Result

PROVIDERS = {"sms": "twilio", "email": "sendgrid", "telegram": "telegram"}
THRESHOLD = 20        # consecutive failed calls before the circuit opens
FIRST_COOLDOWN = 15.0  # seconds; doubles with every trip in a row, up to MAX_COOLDOWN
MAX_COOLDOWN = 60.0    # a provider that recovers is tried again within a minute


@dataclass(frozen=True)
class CircuitState:
    """What the operator needs to know about one provider."""

    provider: str
    failures: int
    open_until: float
    last_error: str
    since: float = 0.0  # when the current run of failures began (0: none)

    @property
    def is_open(self) -> bool:
        """Tell whether sends to this provider are held right now."""
        return self.open_until > time.time()

    @property
    def failing(self) -> bool:
        """Tell whether the provider's last calls failed (open or not yet)."""
        return self.failures > 0 or self.is_open


def _key(provider: str) -> str:
    return f"notifier:circuit:{provider}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def state(redis: Redis, provider: str) -> CircuitState:
    """Read the circuit of one provider."""
    raw = {_text(k): _text(v) for k, v in redis.hgetall(_key(provider)).items()}
    return CircuitState(provider, int(raw.get("failures", 0)), float(raw.get("open_until", 0)),
                        raw.get("last_error", ""), float(raw.get("since", 0)))


def _is_failure(o: Outcome) -> bool:
    # A 429 with Retry-After is the provider pacing us, not failing: the rate limiter handles it.
    return o.result is Result.RETRY and not o.retry_after


def observe(redis: Redis, provider: str, outcomes: list[Outcome]) -> CircuitState:
    """Count a chunk's calls: any success closes the circuit, many failed calls open it."""
    key = _key(provider)
    if any(o.result is not Result.RETRY for o in outcomes):
        redis.hset(key, mapping={"failures": 0, "trips": 0, "since": 0, "open_until": 0})
        return state(redis, provider)
    failed = [o for o in outcomes if _is_failure(o)]
    if not failed:
        return state(redis, provider)
    calls = len({o.call for o in failed})
    failures = int(redis.hincrby(key, "failures", calls))
    if float(_text(redis.hget(key, "since") or b"0")) == 0:
        redis.hset(key, "since", time.time())  # the start of this run of failures
    redis.hset(key, "last_error", f"{failed[-1].error_code}: {failed[-1].error or ''}"[:200])
    if failures >= THRESHOLD:
        trips = int(redis.hincrby(key, "trips", 1))
        cooldown = min(MAX_COOLDOWN, FIRST_COOLDOWN * 2 ** (trips - 1))
        # Half-open after the cooldown: the next chunk is a probe; its failure re-opens at once.
        redis.hset(key, mapping={"open_until": time.time() + cooldown,
                                 "failures": THRESHOLD - 1})
    redis.expire(key, 86400)
    return state(redis, provider)
