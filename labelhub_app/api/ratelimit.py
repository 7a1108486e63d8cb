"""In-process sliding-window rate limits: sign-in attempts and requests per credential.

Each limiter keeps, per key, the times of the hits inside its window (a deque), so a burst at the
edge of a fixed minute cannot double the rate. The state lives in this process only: with several
worker processes each has its own counts, and a multi-process or multi-host deployment needs a
shared store (Redis, e.g. a sorted set per key) behind the same ``hit`` call.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

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
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
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
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return max(0, self.limit - sum(1 for t in hits if t > now - self.window_s))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def _trim(self, edge: float) -> None:
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        # the least recently used key first: drop it while its newest hit is out of the window
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            if oldest and oldest[-1] > edge:
                break
            del self._hits[oldest_key]


login_limiter = SlidingWindowLimiter(LOGIN_ATTEMPTS_PER_MINUTE, 60.0)
token_limiter = SlidingWindowLimiter(TOKEN_REQUESTS_PER_MINUTE, 60.0)


def reset_limits() -> None:
    """Forget every count (tests call this)."""
    login_limiter.reset()
    token_limiter.reset()
