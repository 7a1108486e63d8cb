"""Personal access tokens: service rules and the /auth, /me and /tokens endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelhub_app.config import SESSION_COOKIE
from labelhub_app.errors import Conflict, InvalidInput, NotFound
from labelhub_app.models import AccessToken, utcnow
from labelhub_app.services import accounts, tokens
from tests.api.conftest import assert_error, bearer, user_with_token
from tests.factories import PASSWORD, make_user


def test_tokens_are_stored_hashed_and_shown_once(session):
    user = make_user(session, "producer")
    new = tokens.create_token(session, actor=user, name=" CI   runner ")
    assert new.token.startswith("lh_pat_") and len(new.token) > 40
    row = session.exec(select(AccessToken)).one()
    assert row.token_hash == tokens.token_hash(new.token) and new.token not in row.token_hash
    assert row.prefix == new.token[:11] and new.info.name == "CI runner"
    assert tokens.user_for_access_token(session, new.token).id == user.id
    listed = tokens.list_tokens(session, actor=user)
    assert [t.name for t in listed] == ["CI runner"]
    assert "token" not in tokens.TokenInfo.__dataclass_fields__


def test_token_rules(session):
    user = make_user(session, "consumer")
    tokens.create_token(session, actor=user, name="laptop")
    with pytest.raises(Conflict, match="already have a token called"):
        tokens.create_token(session, actor=user, name="laptop")
    with pytest.raises(InvalidInput, match="name"):
        tokens.create_token(session, actor=user, name="   ")
    with pytest.raises(InvalidInput, match="expire"):
        tokens.create_token(session, actor=user, name="x", expires_in_days=0)
    other = make_user(session, "consumer")
    [mine] = tokens.list_tokens(session, actor=user)
    with pytest.raises(NotFound):
        tokens.revoke_token(session, actor=other, token_id=mine.public_id)


def test_expired_and_revoked_tokens_find_nobody_and_last_use_is_recorded(session):
    user = make_user(session, "consumer")
    new = tokens.create_token(session, actor=user, name="short", expires_in_days=1)
    assert new.info.expires_at is not None
    assert (
        tokens.user_for_access_token(session, new.token, now=utcnow() + timedelta(days=2)) is None
    )
    assert tokens.list_tokens(session, actor=user)[0].last_used_at is None
    assert tokens.user_for_access_token(session, new.token).id == user.id
    assert tokens.list_tokens(session, actor=user)[0].last_used_at is not None
    before = tokens.list_tokens(session, actor=user)[0].last_used_at
    tokens.user_for_access_token(session, new.token)  # within a minute: not written again
    assert tokens.list_tokens(session, actor=user)[0].last_used_at == before
    tokens.revoke_token(session, actor=user, token_id=new.info.public_id)
    assert tokens.user_for_access_token(session, new.token) is None
    assert tokens.list_tokens(session, actor=user) == []
    assert len(tokens.list_tokens(session, actor=user, include_inactive=True)) == 1
    assert tokens.user_for_access_token(session, "lh_pat_nope") is None
    assert tokens.user_for_access_token(session, "not-a-pat") is None


def test_me_with_token_cookie_and_session_token(client, session):
    user, headers = user_with_token(session, "producer", "consumer")
    body = client.get("/api/v1/me", headers=headers).json()
    assert body["email"] == user.email and body["roles"] == ["producer", "consumer"]
    assert "password_hash" not in body
    session_token = accounts.sign_in(session, email=user.email, password=PASSWORD)
    client.cookies.set(SESSION_COOKIE, session_token)
    assert client.get("/api/v1/me").json()["id"] == user.public_id
    client.cookies.clear()
    bearer_session = {"Authorization": f"Bearer {session_token}"}
    assert client.get("/api/v1/me", headers=bearer_session).status_code == 200


def test_anonymous_and_bad_tokens_get_401(client):
    r = client.get("/api/v1/me")
    assert_error(r, 401, "not_authenticated")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer lh_pat_x"}), 401)
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer junk"}), 401)
    # an invalid cookie is just anonymous
    client.cookies.set(SESSION_COOKIE, "stale")
    assert_error(client.get("/api/v1/me"), 401)


def test_login_logout_and_token_lifecycle(client, session):
    user = make_user(session, "consumer")
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong password"})
    assert_error(r, 401, "not_authenticated")
    r = client.post("/api/v1/auth/login", json={"email": user.email.upper(), "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    login = {"Authorization": f"Bearer {r.json()['token']}"}

    r = client.post(
        "/api/v1/tokens", json={"name": "notebook", "expires_in_days": 30}, headers=login
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("lh_pat_") and created["active"] is True
    assert created["expires_at"] is not None and created["prefix"] == created["token"][:11]
    pat = {"Authorization": f"Bearer {created['token']}"}

    listed = client.get("/api/v1/tokens", headers=pat).json()
    assert [t["name"] for t in listed["items"]] == ["notebook"] and listed["next_cursor"] is None
    assert "token" not in listed["items"][0] and listed["items"][0]["last_used_at"] is not None

    # an access token cannot mint more tokens
    assert_error(client.post("/api/v1/tokens", json={"name": "more"}, headers=pat), 403)
    # logout is for session tokens
    assert_error(client.post("/api/v1/auth/logout", headers=pat), 422)

    r = client.delete(f"/api/v1/tokens/{created['id']}", headers=login)
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["revoked_at"]
    assert_error(client.get("/api/v1/me", headers=pat), 401, "not_authenticated")
    assert client.get("/api/v1/tokens", headers=login).json()["items"] == []
    inactive = client.get("/api/v1/tokens", params={"include_inactive": True}, headers=login)
    assert len(inactive.json()["items"]) == 1

    assert client.post("/api/v1/auth/logout", headers=login).status_code == 204
    assert_error(client.get("/api/v1/me", headers=login), 401)


def test_tokens_of_others_are_not_found_and_validation_is_json(client, session):
    owner = make_user(session, "consumer")
    new = tokens.create_token(session, actor=owner, name="mine")
    _, other = user_with_token(session, "consumer")
    assert_error(client.delete(f"/api/v1/tokens/{new.info.public_id}", headers=other), 404)
    assert_error(client.delete("/api/v1/tokens/whatever"), 401)
    session_token = accounts.sign_in(session, email=owner.email, password=PASSWORD)
    auth = {"Authorization": f"Bearer {session_token}"}
    assert_error(
        client.post("/api/v1/tokens", json={"name": ""}, headers=auth), 422, "invalid_input"
    )
    r = client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 0}, headers=auth)
    assert "expires_in_days" in assert_error(r, 422)["message"]


def test_token_list_pages_with_a_cursor(client, session):
    user = make_user(session, "consumer")
    for i in range(7):
        tokens.create_token(session, actor=user, name=f"t{i}")
    headers = bearer(session, user)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tokens", params=params, headers=headers).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
