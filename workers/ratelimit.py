"""A rate limiter shared through Redis, per provider account, honoured by every worker process."""
from __future__ import annotations

import hashlib
import time

from redis import Redis

# GCRA (the generic cell rate algorithm) without burst, on Redis's clock. The bucket keeps one
# number, the theoretical arrival time (tat): the moment the account's allowance is spent up to.
# Reserving n units starts at tat, at now, or at the end of a provider's Retry-After pause,
# whichever is latest, and moves tat n/rate seconds on; the caller waits until that start. So
# any one-second window carries one second of allowance, also the first one after a pause.
_RESERVE = """
local rate, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now, paused)
redis.call('SET', KEYS[1], tostring(start + n / rate), 'EX', 3600)
return tostring(start - now)
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
    """The shared allowance of one provider account (GCRA in Redis)."""

    def __init__(self, redis: Redis, name: str, account: str, rate: float) -> None:
        digest = hashlib.sha256(account.encode()).hexdigest()[:16]  # no account id in Redis keys
        self.bucket = f"notifier:rate:{name}:{digest}"
        self.pause_key = f"notifier:pause:{name}:{digest}"
        self.redis, self.rate = redis, rate
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)

    def reserve(self, n: float = 1) -> float:
        """Reserve n units of the allowance; return the seconds to wait before using them."""
        return max(0.0, float(self._reserve(keys=[self.bucket, self.pause_key],
                                            args=[self.rate, n])))

    def acquire(self, n: float = 1) -> float:
        """Block until n units may be sent; return the seconds waited."""
        wait = self.reserve(n)
        if wait > 0:
            time.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every worker off this account for a while (the provider said Retry-After)."""
        self._pause(keys=[self.pause_key], args=[seconds])
