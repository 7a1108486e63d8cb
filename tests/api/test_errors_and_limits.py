"""One error body everywhere (404, 405, 422, 401, 403, 429, 500) and the rate limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelhub_app.api import ratelimit
from labelhub_app.api.app import api
from labelhub_app.api.ratelimit import SlidingWindowLimiter
from labelhub_app.services import labels
from tests.api.conftest import assert_error, user_with_token
from tests.factories import PASSWORD, make_user


def test_unknown_routes_and_wrong_methods(client, session):
    r = client.get("/api/v1/no/such/thing")
    assert "/api/v1/no/such/thing" in assert_error(r, 404, "not_found")["message"]
    r = client.delete("/api/v1/me")
    assert "GET" in assert_error(r, 405, "method_not_allowed")["message"]
    assert r.headers["allow"] == "GET"
    assert_error(client.put("/api/v1/projects"), 405)
    assert_error(client.get("/api/v1/images/nope"), 404, "not_found")
    assert_error(client.get("/outside/the/api"), 404, "not_found")


def test_validation_errors_name_the_field(client, session):
    _, headers = user_with_token(session, "consumer")
    r = client.post("/api/v1/wallet/topup", json={"amount_cents": "lots"}, headers=headers)
    message = assert_error(r, 422, "invalid_input")["message"]
    assert "amount_cents (body)" in message
    assert_error(
        client.post(
            "/api/v1/wallet/topup",
            content=b"{not json",
            headers={**headers, "content-type": "application/json"},
        ),
        422,
    )
    assert_error(client.get("/api/v1/search", params={"limit": 0}), 422)
    assert_error(client.get("/api/v1/search", params={"cursor": "!!!"}), 422)


def test_forbidden_is_403_with_the_services_message(client, session):
    _, consumer = user_with_token(session, "consumer")
    r = client.post("/api/v1/labels", json={"name": "zebra crossing"}, headers=consumer)
    assert "producers" in assert_error(r, 403, "forbidden")["message"]


def test_unexpected_errors_hide_the_trace(session, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(labels, "suggest_labels", boom)
    client = TestClient(api, raise_server_exceptions=False)
    r = client.get("/api/v1/labels", params={"prefix": "do"})
    error = assert_error(r, 500, "internal_error")
    assert "secret internals" not in r.text and "RuntimeError" not in r.text
    assert "logged" in error["message"]


def test_sliding_window_limiter():
    now = [0.0]
    limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == pytest.approx(60.0)
    assert limiter.hit("b") is None  # keys are separate
    now[0] = 30.0
    assert limiter.hit("a") == pytest.approx(30.0)  # refused hits are not counted
    now[0] = 60.5
    assert limiter.hit("a") is None and limiter.remaining("a") == 2
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 1.0)


def test_limiter_memory_is_bounded():
    now = [0.0]
    limiter = SlidingWindowLimiter(1, 10.0, clock=lambda: now[0], max_keys=5)
    for i in range(20):
        limiter.hit(f"k{i}")
    assert len(limiter._hits) == 5
    now[0] = 100.0
    limiter.hit("fresh")
    assert list(limiter._hits) == ["fresh"]


def test_login_attempts_are_limited_per_address_and_email(client, session, settings, monkeypatch):
    # the per-process request limit, apart from the database lockout after failed passwords
    # (tests/services/test_account_security.py), which would answer first at 5 failures
    monkeypatch.setattr(settings, "login_max_failures_per_account", 100)
    user = make_user(session, "consumer")
    wrong = {"email": user.email, "password": "not the password"}
    for _ in range(ratelimit.LOGIN_ATTEMPTS_PER_MINUTE):
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    error = assert_error(r, 429, "rate_limited")
    assert "Too many sign-in attempts" in error["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # another email from the same address is not affected
    other = make_user(session, "consumer")
    ok = client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD})
    assert ok.status_code == 200


def test_requests_per_token_are_limited(client, session, monkeypatch):
    monkeypatch.setattr(ratelimit.token_limiter, "limit", 5)
    _, headers = user_with_token(session, "consumer")
    _, other = user_with_token(session, "consumer")
    for _ in range(5):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    r = client.get("/api/v1/me", headers=headers)
    assert "at most 5 a minute" in assert_error(r, 429, "rate_limited")["message"]
    assert int(r.headers["retry-after"]) >= 1
    assert client.get("/api/v1/me", headers=other).status_code == 200
