"""A rate limiter shared through Redis, per provider account, honoured by every worker process."""
from __future__ import annotations

import hashlib
import time

from redis import Redis

# Reserve n tokens from a bucket refilled at `rate`/s holding at most `burst`. The bucket may go
# negative: the caller sleeps the returned wait, so concurrent workers queue up fairly instead of
# polling. A provider's Retry-After pauses the whole bucket until the given time.
_RESERVE = """
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1]) or burst
local ts = tonumber(v[2]) or now
local start = now
if paused > now then start = paused end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
tokens = tokens - n
local wait = start - now
if tokens < 0 then wait = wait + (-tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""

_PAUSE = """
local t = redis.call('TIME')
local untl = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(untl), 'EX', math.ceil(tonumber(ARGV[1])) + 1)
end
return 1
"""


class RateLimiter:
    """Token bucket in Redis for one provider account."""

    def __init__(self, redis: Redis, name: str, account: str, rate: float,
                 burst_seconds: float = 1.0) -> None:
        digest = hashlib.sha256(account.encode()).hexdigest()[:16]  # no account id in Redis keys
        self.bucket = f"notifier:rate:{name}:{digest}"
        self.pause_key = f"notifier:pause:{name}:{digest}"
        self.redis, self.rate = redis, rate
        # A small burst keeps the pace even: a provider measuring any one-second window never
        # sees more than the allowance.
        self.burst = max(1.0, rate * burst_seconds)
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)

    def acquire(self, n: float = 1) -> float:
        """Block until n units may be sent; return the seconds waited."""
        wait = float(self._reserve(keys=[self.bucket, self.pause_key],
                                   args=[self.rate, self.burst, n]))
        if wait > 0:
            time.sleep(wait)
        return max(0.0, wait)

    def pause(self, seconds: float) -> None:
        """Hold every worker off this account for a while (the provider said Retry-After)."""
        self._pause(keys=[self.pause_key], args=[seconds])
