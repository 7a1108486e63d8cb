"""API test helpers: a TestClient on the API app, users with access tokens, fresh rate limits."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelhub_app.api.app import api
from labelhub_app.api.ratelimit import reset_limits
from labelhub_app.models import User
from labelhub_app.services import tokens
from tests.factories import make_user

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    reset_limits()
    yield
    reset_limits()


@pytest.fixture
def client(settings) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(api)


def bearer(session: Session, user: User, name: str = "tests") -> dict[str, str]:
    """Authorization headers with a new access token of ``user``."""
    new = tokens.create_token(session, actor=user, name=f"{name} {next(_names)}")
    return {"Authorization": f"Bearer {new.token}"}


def user_with_token(session: Session, *roles: str) -> tuple[User, dict[str, str]]:
    user = make_user(session, *roles)
    return user, bearer(session, user)


def assert_error(response, status: int, code: str | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The response is an error of our shape (and no stack trace); returns its error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
