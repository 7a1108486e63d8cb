"""API rate limits shared through Redis (a real redis-server) when a Redis URL is configured, and
in-process by default."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from labelhub_app.api import ratelimit, ratelimit_redis
from labelhub_app.api.app import api
from labelhub_app.api.ratelimit import SlidingWindowLimiter
from labelhub_app.api.ratelimit_redis import RedisWindows
from labelhub_app.config import Settings, reset_settings
from tests.backends import RedisServer


@pytest.fixture
def redis_env(
    settings: Settings, redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RedisServer]:
    monkeypatch.setenv("LABELHUB_REDIS_URL", redis_srv.url)
    reset_settings()
    ratelimit.reset_limits()
    yield redis_srv
    ratelimit.reset_limits()
    monkeypatch.delenv("LABELHUB_REDIS_URL")
    reset_settings()


def test_two_workers_share_one_window(redis_srv: RedisServer) -> None:
    """Two limiters on one Redis (two app processes): together at most ``limit`` hits."""
    name = f"t{uuid.uuid4().hex[:8]}"
    first, second = RedisWindows(redis_srv.url), RedisWindows(redis_srv.url)
    hits = [w.hit(name, "k", 3, 60.0) for w in (first, second, first)]
    assert hits == [None, None, None]
    retry = second.hit(name, "k", 3, 60.0)
    assert retry is not None and 59.0 < retry <= 60.0  # until the oldest hit leaves the window
    assert first.hit(name, "other key", 3, 60.0) is None  # keys are separate
    assert first.remaining(name, "k", 3, 60.0) == 0 and second.remaining(name, "x", 3, 60.0) == 3
    second.reset(name)
    assert first.remaining(name, "k", 3, 60.0) == 3


def test_keys_expire_with_their_window(redis_srv: RedisServer) -> None:
    windows = RedisWindows(redis_srv.url)
    name = f"t{uuid.uuid4().hex[:8]}"
    windows.hit(name, "k", 5, 30.0)
    ttl_ms = windows.client.pttl(f"labelhub:ratelimit:{name}:k")
    assert 0 < ttl_ms <= 30_000  # no key outlives its window: memory stays bounded


def test_limiters_use_redis_when_configured(redis_env: RedisServer) -> None:
    windows = ratelimit_redis.shared_windows()
    assert windows is not None and windows.url == redis_env.url
    limiter = SlidingWindowLimiter(2, 60.0, name=f"t{uuid.uuid4().hex[:8]}")
    twin = SlidingWindowLimiter(2, 60.0, name=limiter.name)  # the same limiter in another worker
    assert limiter.hit("a") is None and twin.hit("a") is None
    assert limiter.hit("a") is not None and twin.remaining("a") == 0
    assert windows.client.exists(f"labelhub:ratelimit:{limiter.name}:a") == 1


def test_sign_in_attempts_are_counted_in_redis(
    redis_env: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(api)
    body = {"email": "nobody@example.com", "password": "wrong password"}
    monkeypatch.setattr(ratelimit.login_limiter, "limit", 3)  # below the account lockout
    codes = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(3)]
    assert set(codes) == {401}
    # another app worker (its own in-process limiter is empty) is refused too
    ratelimit.login_limiter._hits.clear()
    refused = client.post("/api/v1/auth/login", json=body)
    assert refused.status_code == 429 and "Too many sign-in attempts" in refused.text
    windows = ratelimit_redis.shared_windows()
    assert windows is not None
    assert list(windows.client.scan_iter(match="labelhub:ratelimit:login:*"))


def test_in_process_by_default(settings: Settings) -> None:
    assert settings.redis_url == "" and ratelimit_redis.shared_windows() is None
    limiter = SlidingWindowLimiter(1, 60.0, name="login")
    assert limiter.hit("a") is None and limiter.hit("a") is not None


def test_redis_down_falls_back_to_local_counts(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.backends import free_port

    monkeypatch.setenv("LABELHUB_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    reset_settings()
    limiter = SlidingWindowLimiter(1, 60.0, name="fallback")
    assert limiter.hit("a") is None
    assert limiter.hit("a") is not None  # still limited, by this process
