"""In-process sliding-window rate limits: sign-in attempts and requests per credential.

Each limiter keeps, per key, the times of the hits inside its window (a deque), so a burst at the
edge of a fixed minute cannot double the rate. By default the state lives in this process only;
with ``LABELHUB_REDIS_URL`` (or Reflex's ``REFLEX_REDIS_URL``) set, every limiter keeps its counts
in Redis instead (api/ratelimit_redis.py: a sorted set per key), shared by all app workers, behind
the same ``hit`` call. If Redis cannot be reached the in-process counts are used meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

_log = logging.getLogger(__name__)

LOGIN_ATTEMPTS_PER_MINUTE = 10  # per client IP and email
TOKEN_REQUESTS_PER_MINUTE = 600  # per credential (access token, session token or cookie)


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds.

    ``hit`` records a hit and returns None, or refuses it (recording nothing) and returns how many
    seconds until the oldest hit leaves the window. Keys unused for a whole window are dropped,
    and at most ``max_keys`` keys are kept (the least recently used go first), so memory stays
    bounded whatever clients send.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        name: str = "",
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.name = name  # set: shared through Redis when a Redis URL is configured

    def _shared(self):  # type: ignore[no-untyped-def]
        if not self.name:
            return None
        from labelhub_app.api.ratelimit_redis import shared_windows

        return shared_windows()

    def hit(self, key: str) -> float | None:
        shared = self._shared()
        if shared is not None:
            try:
                return shared.hit(self.name, key, self.limit, self.window_s)  # type: ignore[no-any-return]
            except Exception as exc:  # Redis down: keep limiting with this process's counts
                _log.warning(
                    "rate limit %s: Redis unavailable (%s); counting locally", self.name, exc
                )
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            else:
                self._hits.move_to_end(key)
            edge = now - self.window_s
            while hits and hits[0] <= edge:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window_s - now
            hits.append(now)
            self._trim(edge)
            return None

    def remaining(self, key: str) -> int:
        shared = self._shared()
        if shared is not None:
            try:
                return shared.remaining(self.name, key, self.limit, self.window_s)  # type: ignore[no-any-return]
            except Exception:  # Redis down: what this process counted
                pass
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return max(0, self.limit - sum(1 for t in hits if t > now - self.window_s))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
        shared = self._shared()
        if shared is not None:
            shared.reset(self.name)

    def _trim(self, edge: float) -> None:
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        # the least recently used key first: drop it while its newest hit is out of the window
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            if oldest and oldest[-1] > edge:
                break
            del self._hits[oldest_key]


login_limiter = SlidingWindowLimiter(LOGIN_ATTEMPTS_PER_MINUTE, 60.0, name="login")
token_limiter = SlidingWindowLimiter(TOKEN_REQUESTS_PER_MINUTE, 60.0, name="token")


def reset_limits() -> None:
    """Forget every count (tests call this)."""
    login_limiter.reset()
    token_limiter.reset()
