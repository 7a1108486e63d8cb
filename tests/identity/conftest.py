"""OpenID Connect tests: oidc-provider-mock on loopback, the app's /auth routes in a TestClient.

``oidc_provider`` runs the mock provider (authlib-based, a real OIDC server) once per session;
``oidc`` points LabelHub's settings at it for one test and returns a helper that drives the
authorization code flow as a browser would, with httpx.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from labelhub_app.adapters.identity import oidc as oidc_adapter
from labelhub_app.config import reset_settings

CLIENT_ID = "labelhub-tests"
CLIENT_SECRET = "labelhub-tests-secret"
PROVIDER_NAME = "Mock ID"
_subjects = itertools.count(1)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """The issuer URL of a running oidc-provider-mock."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@dataclass
class OidcDriver:
    issuer: str
    client: TestClient  # LabelHub's HTTP app (API + /auth routes)

    def new_subject(self) -> str:
        return f"subject-{next(_subjects)}"

    def set_claims(self, subject: str, **claims: object) -> None:
        """What the provider will say about ``subject`` (email, email_verified, name)."""
        httpx.put(f"{self.issuer}/users/{subject}", json=claims, timeout=10).raise_for_status()

    def start(self, next_path: str = "") -> str:
        """GET /auth/oidc/login; returns the provider URL it redirects to."""
        response = self.client.get(
            "/auth/oidc/login",
            params={"next": next_path} if next_path else None,
            follow_redirects=False,
        )
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def authorize(self, authorize_url: str, subject: str) -> str:
        """The person signs in at the provider; returns our callback URL with code and state."""
        response = httpx.post(authorize_url, data={"sub": subject}, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def callback(self, callback_url: str) -> httpx.Response:
        parts = urlsplit(callback_url)
        return self.client.get(f"{parts.path}?{parts.query}", follow_redirects=False)

    def sign_in(self, subject: str, next_path: str = "") -> httpx.Response:
        return self.callback(self.authorize(self.start(next_path), subject))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def oidc(settings, oidc_provider: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcDriver]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LABELHUB_OIDC_ISSUER", oidc_provider)
    monkeypatch.setenv("LABELHUB_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("LABELHUB_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("LABELHUB_OIDC_PROVIDER_NAME", PROVIDER_NAME)
    reset_settings()
    oidc_adapter.clear_caches()
    from labelhub_app.api.app import api

    with TestClient(api) as client:
        yield OidcDriver(oidc_provider, client)
    reset_settings()
