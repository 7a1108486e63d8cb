"""Rate-limit counts in Redis, shared by every app process (``LABELHUB_REDIS_URL`` or Reflex's
``REFLEX_REDIS_URL``): a sorted set per limiter and key, trimmed and checked by one Lua script,
so concurrent hits from several workers are counted exactly once and the window is the same
sliding window as the in-process limiter's (times come from the Redis server's clock)."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)

# KEYS[1] the set; ARGV: limit, window (microseconds), a unique member. Returns -1 when the hit
# is recorded, else the microseconds until the oldest hit leaves the window (nothing recorded).
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return -1
"""
_REMAINING = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return math.max(0, tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1]))
"""


class RedisWindows:
    """Sliding windows in one Redis database, under ``prefix``."""

    def __init__(self, url: str, *, prefix: str = "labelhub:ratelimit:") -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        self._hit = self.client.register_script(_HIT)
        self._remaining = self.client.register_script(_REMAINING)

    def _key(self, limiter: str, key: str) -> str:
        return f"{self.prefix}{limiter}:{key}"

    def hit(self, limiter: str, key: str, limit: int, window_s: float) -> float | None:
        wait_us = int(
            self._hit(
                keys=[self._key(limiter, key)],
                args=[limit, int(window_s * 1_000_000), uuid.uuid4().hex],
            )
        )
        return None if wait_us < 0 else wait_us / 1_000_000

    def remaining(self, limiter: str, key: str, limit: int, window_s: float) -> int:
        return int(
            self._remaining(keys=[self._key(limiter, key)], args=[limit, int(window_s * 1e6)])
        )

    def reset(self, limiter: str) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}{limiter}:*", count=500))
        if keys:
            self.client.delete(*keys)


_windows: RedisWindows | None = None
_lock = threading.Lock()


def shared_windows() -> RedisWindows | None:
    """The Redis windows of the configured URL, or None (in-process limits) when none is set."""
    global _windows
    from labelhub_app.config import get_settings

    url = get_settings().redis_url
    if not url:
        return None
    with _lock:
        if _windows is None or _windows.url != url:
            _windows = RedisWindows(url)
        return _windows
