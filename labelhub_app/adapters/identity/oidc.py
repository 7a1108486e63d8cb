"""OpenID Connect sign-in through authlib: authorization code flow with PKCE (S256), state, nonce.

Any provider that publishes ``<issuer>/.well-known/openid-configuration`` works. The provider is
configured with ``LABELHUB_OIDC_ISSUER``, ``LABELHUB_OIDC_CLIENT_ID`` and
``LABELHUB_OIDC_CLIENT_SECRET``, and shown as ``LABELHUB_OIDC_PROVIDER_NAME``. This module only
talks to the provider; the services decide which account a verified identity signs in to
(services/accounts.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.jose.errors import JoseError

try:  # authlib 1.7+ raises joserfc's errors from the OIDC claim checks
    from joserfc.errors import JoseError as JoserfcError
except ImportError:  # pragma: no cover
    JoserfcError = JoseError  # type: ignore[misc,assignment]
from authlib.oidc.core import CodeIDToken

from labelhub_app.config import Settings, get_settings
from labelhub_app.errors import InvalidInput

DISCOVERY_TTL_S = 300.0
HTTP_TIMEOUT_S = 10.0
CLOCK_LEEWAY_S = 60


class OidcError(InvalidInput):
    """The provider's answer cannot be trusted or used; the message says what to do."""


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ProviderConfig | None:
        s = settings or get_settings()
        if not s.oidc_issuer or not s.oidc_client_id:
            return None
        return cls(
            s.oidc_issuer.rstrip("/"),
            s.oidc_client_id,
            s.oidc_client_secret,
            s.oidc_provider_name,
            s.oidc_scopes,
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str  # send the browser here
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class VerifiedIdentity:
    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str


_cache_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_S, follow_redirects=True)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(
            f"The sign-in provider did not answer ({url}): {exc}. Try again later or sign in "
            "with your password."
        ) from exc


def _cached(cache: dict[str, tuple[float, dict[str, Any]]], url: str) -> dict[str, Any]:
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(url)
        if hit and now - hit[0] < DISCOVERY_TTL_S:
            return hit[1]
    value = _get_json(url)
    with _cache_lock:
        cache[url] = (now, value)
    return value


def discover(provider: ProviderConfig) -> dict[str, Any]:
    metadata = _cached(_discovery, f"{provider.issuer}/.well-known/openid-configuration")
    if metadata.get("issuer", "").rstrip("/") != provider.issuer:
        raise OidcError(
            "The sign-in provider's discovery document names another issuer; check "
            "LABELHUB_OIDC_ISSUER."
        )
    return metadata


def clear_caches() -> None:
    with _cache_lock:
        _discovery.clear()
        _jwks.clear()


def _client(provider: ProviderConfig, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
    )


def start(provider: ProviderConfig, *, redirect_uri: str) -> AuthorizationRequest:
    """A fresh state, nonce and PKCE verifier, and the provider URL that carries them."""
    metadata = discover(provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
        )
    return AuthorizationRequest(url, state, nonce, verifier)


def finish(
    provider: ProviderConfig,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    nonce: str,
) -> VerifiedIdentity:
    """Trade the code for tokens (with the PKCE verifier) and check the ID token fully.

    Checked: signature (the provider's JWKS), issuer, audience, expiry, issued-at, nonce, and the
    access token hash when present. The caller has already checked the state.
    """
    metadata = discover(provider)
    try:
        with _client(provider, redirect_uri) as client:
            token = client.fetch_token(
                metadata["token_endpoint"],
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
    except Exception as exc:  # authlib raises OAuthError, httpx its own errors
        raise OidcError(
            f"The sign-in provider refused the sign-in ({exc}). Start again from the sign-in page."
        ) from exc
    id_token = token.get("id_token")
    if not id_token:
        raise OidcError("The sign-in provider sent no ID token; is the 'openid' scope allowed?")
    keys = JsonWebKey.import_key_set(_cached(_jwks, metadata["jwks_uri"]))
    try:
        claims = jwt.decode(
            id_token,
            keys,
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": metadata["issuer"]},
                "aud": {"essential": True, "value": provider.client_id},
                "nonce": {"essential": True},
            },
            claims_params={
                "nonce": nonce,
                "client_id": provider.client_id,
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(leeway=CLOCK_LEEWAY_S)
    except (JoseError, JoserfcError, ValueError) as exc:
        raise OidcError(
            f"The sign-in could not be verified ({exc}). Start again from the sign-in page."
        ) from exc
    data = dict(claims)
    if not data.get("email") and token.get("access_token") and metadata.get("userinfo_endpoint"):
        data.update(_userinfo(metadata["userinfo_endpoint"], token["access_token"], data["sub"]))
    return VerifiedIdentity(
        issuer=metadata["issuer"],
        subject=str(data["sub"]),
        email=str(data.get("email") or ""),
        email_verified=data.get("email_verified") is True,
        name=str(data.get("name") or data.get("preferred_username") or ""),
    )


def _userinfo(url: str, access_token: str, subject: str) -> dict[str, Any]:
    try:
        response = httpx.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT_S
        )
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError):
        return {}
    if str(info.get("sub")) != subject:  # OIDC Core 5.3.2: must match the ID token's subject
        return {}
    return {k: info[k] for k in ("email", "email_verified", "name") if k in info}
