"""Single sign-on against a real OpenID Connect provider (oidc-provider-mock), driven with httpx."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from sqlmodel import select

from labelhub_app.config import SESSION_COOKIE
from labelhub_app.models import AuthSession, User
from labelhub_app.models.security import ExternalIdentity, OidcLogin
from labelhub_app.services import accounts
from tests.factories import PASSWORD, make_user
from tests.identity.conftest import CLIENT_ID, OidcDriver, query


def _flash(response: httpx.Response) -> str:
    from urllib.parse import unquote

    return unquote(response.cookies.get("lh_flash", ""))


def _me(oidc: OidcDriver, response: httpx.Response) -> dict:  # type: ignore[type-arg]
    token = response.cookies.get(SESSION_COOKIE)
    assert token, response.headers
    me = oidc.client.get("/api/v1/me", cookies={SESSION_COOKIE: token})
    assert me.status_code == 200, me.text
    return me.json()  # type: ignore[no-any-return]


def test_login_redirect_carries_pkce_state_and_nonce(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    url = oidc.start("/market")
    params = query(url)
    assert url.startswith(f"{oidc.issuer}/oauth2/authorize")
    assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert params["state"] and params["nonce"] and "openid" in params["scope"].split()
    # the browser is given the state in an HttpOnly cookie scoped to the callback
    cookie = next(c for c in oidc.client.cookies.jar if c.name == "lh_oidc_state")
    assert cookie.value == params["state"] and cookie.path == "/auth/oidc/callback"
    # the server keeps the verifier (never sent to the browser), hashed state and nonce
    row = session.exec(select(OidcLogin)).one()
    assert row.nonce == params["nonce"] and row.state_hash != params["state"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(row.code_verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == params["code_challenge"]
    assert row.code_verifier not in url


def test_first_sign_in_creates_an_account_then_roles_are_chosen(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="Nia@Example.com", email_verified=True, name="Nia Nakamura")
    response = oidc.sign_in(subject)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/profile?welcome=1"  # roles come next
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    me = _me(oidc, response)
    assert me["email"] == "nia@example.com" and me["roles"] == []
    assert me["display_name"] == "Nia Nakamura" and me["pseudonym"]
    user = session.exec(select(User).where(User.email == "nia@example.com")).one()
    assert user.email_verified and user.password_hash == ""
    link = session.exec(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)).one()
    assert link.issuer == oidc.issuer and link.subject == subject
    assert session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one().method == (
        "oidc"
    )

    # the second time, the same account by issuer + subject, even with a new email
    oidc.set_claims(subject, email="nia@elsewhere.example", email_verified=True)
    again = oidc.sign_in(subject, next_path="/purchases")
    assert _me(oidc, again)["id"] == user.public_id
    assert again.headers["location"] == "/profile?welcome=1"  # still no roles chosen
    accounts.update_profile(session, actor=user, roles=["consumer"])
    third = oidc.sign_in(subject, next_path="/purchases")
    assert third.headers["location"] == "/purchases"
    assert len(session.exec(select(User).where(User.pseudonym == user.pseudonym)).all()) == 1


def test_links_to_an_existing_account_by_verified_email(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer", email="lena@example.com")
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="lena@example.com", email_verified=True)
    response = oidc.sign_in(subject)
    assert response.headers["location"] == "/dashboard"
    assert _me(oidc, response)["id"] == user.public_id
    # the local password keeps working
    assert accounts.sign_in(session, email="lena@example.com", password=PASSWORD)


def test_unverified_provider_email_is_not_linked(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "producer", email="omar@example.com")
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="omar@example.com", email_verified=False)
    response = oidc.sign_in(subject)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert SESSION_COOKIE not in response.cookies
    assert "has not verified that address" in _flash(response)
    assert session.exec(select(ExternalIdentity)).all() == []


def test_new_account_with_unverified_email_gets_a_verification_mail(  # type: ignore[no-untyped-def]
    oidc: OidcDriver, session, settings
) -> None:
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="uma@example.com", email_verified=False)
    response = oidc.sign_in(subject)
    assert response.status_code == 303
    user = session.exec(select(User).where(User.email == "uma@example.com")).one()
    assert not user.email_verified
    mails = list((settings.data_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1 and b"uma@example.com" in mails[0].read_bytes()


def test_verified_sign_in_takes_over_an_unverified_squatted_account(  # type: ignore[no-untyped-def]
    oidc: OidcDriver, session
) -> None:
    """Someone signed up with another person's address and never verified it: when the owner
    arrives through the provider, the squatter's password and sessions stop working."""
    squatter = accounts.sign_up(
        session,
        email="vic@example.com",
        password=PASSWORD,
        roles=["producer"],
        email_verified=False,
    )
    squatter_token = accounts.sign_in(session, email="vic@example.com", password=PASSWORD)
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="vic@example.com", email_verified=True)
    response = oidc.sign_in(subject)
    assert _me(oidc, response)["id"] == squatter.public_id
    session.expire_all()
    assert accounts.user_for_token(session, squatter_token) is None
    with pytest.raises(accounts.NotAuthenticated):
        accounts.sign_in(session, email="vic@example.com", password=PASSWORD)


def test_wrong_state_is_refused(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="wes@example.com", email_verified=True)
    callback = oidc.authorize(oidc.start(), subject)
    params = query(callback)
    forged = oidc.client.get(
        "/auth/oidc/callback",
        params={"code": params["code"], "state": params["state"] + "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/signin"
    assert SESSION_COOKIE not in forged.cookies
    assert "state does not match" in _flash(forged)
    # a callback without this browser's state cookie (started elsewhere) is refused too
    oidc.client.cookies.clear()
    other_browser = oidc.callback(callback)
    assert SESSION_COOKIE not in other_browser.cookies
    assert "state does not match" in _flash(other_browser)
    assert session.exec(select(User).where(User.email == "wes@example.com")).first() is None


def test_state_is_single_use(oidc: OidcDriver) -> None:
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="sam@example.com", email_verified=True)
    start = oidc.start()
    callback = oidc.authorize(start, subject)
    assert SESSION_COOKIE in oidc.callback(callback).cookies
    # the browser replays the same answer (the state cookie set again by hand)
    oidc.client.cookies.set("lh_oidc_state", query(start)["state"], path="/auth/oidc/callback")
    replay = oidc.callback(callback)
    assert SESSION_COOKIE not in replay.cookies
    assert "expired or was used already" in _flash(replay)


def test_wrong_nonce_is_refused(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    """An ID token minted for another authorization request (another nonce) is not accepted,
    even when it arrives with this browser's state and a valid code."""
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="nora@example.com", email_verified=True)
    url = oidc.start()
    nonce = query(url)["nonce"]
    injected = url.replace(f"nonce={nonce}", "nonce=attacker-chosen-nonce")
    assert injected != url
    response = oidc.callback(oidc.authorize(injected, subject))
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert SESSION_COOKIE not in response.cookies
    assert "could not be verified" in _flash(response) and "nonce" in _flash(response)
    assert session.exec(select(User).where(User.email == "nora@example.com")).first() is None


def test_provider_refusal_is_explained(oidc: OidcDriver) -> None:
    url = oidc.start()
    denied = httpx.post(url, data={"action": "deny"}, timeout=10)
    assert denied.status_code == 302
    response = oidc.callback(denied.headers["location"])
    assert response.headers["location"] == "/signin"
    assert "did not sign you in" in _flash(response)


def test_sign_in_route_without_provider_configured(settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from labelhub_app.api.app import api

    response = TestClient(api).get("/auth/oidc/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert "not set up" in _flash(response)


def test_returns_to_the_page_and_origin_the_sign_in_started_from(oidc: OidcDriver, session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "producer", email="rae@example.com")
    subject = oidc.new_subject()
    oidc.set_claims(subject, email="rae@example.com", email_verified=True)
    started = oidc.client.get(
        "/auth/oidc/login",
        params={"next": "/upload"},
        headers={"referer": "http://testserver/signin?next=/upload"},
        follow_redirects=False,
    )
    response = oidc.callback(oidc.authorize(started.headers["location"], subject))
    assert response.headers["location"] == "http://testserver/upload"
    # a foreign "next" is dropped
    other = oidc.client.get(
        "/auth/oidc/login", params={"next": "https://evil.example/"}, follow_redirects=False
    )
    response = oidc.callback(oidc.authorize(other.headers["location"], subject))
    assert response.headers["location"] == "/dashboard"
