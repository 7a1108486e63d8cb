"""Sessions (expiry, idle timeout, listing, revoking, sign out everywhere), self-service sign-up
with email verification, and the browser sign-in routes that set the HttpOnly cookie."""

from __future__ import annotations

import re
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from labelhub_app.adapters.mail import read_outbox
from labelhub_app.config import SESSION_COOKIE
from labelhub_app.errors import Conflict, InvalidInput, NotFound
from labelhub_app.models import AuthSession, User, utcnow
from labelhub_app.services import accounts
from tests.factories import PASSWORD, make_user

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _row(session, token: str) -> AuthSession:  # type: ignore[no-untyped-def]
    return session.exec(
        select(AuthSession).where(AuthSession.token_hash == accounts._token_hash(token))
    ).one()


def _link(settings, to: str, path: str) -> str:  # type: ignore[no-untyped-def]
    [message] = [m for m in read_outbox(settings.resolved_outbox_dir, to=to) if path in m.body][:1]
    match = re.search(rf"https?://\S+{re.escape(path)}\?token=(\S+)", message.body)
    assert match, message.body
    return match.group(1)


# --- sessions -----------------------------------------------------------------------------------


def test_session_ends_at_its_absolute_expiry(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    token = accounts.sign_in(session, email=user.email, password=PASSWORD)
    row = _row(session, token)
    assert row.expires_at - row.created_at == timedelta(days=settings.session_days)
    # used every day it stays alive until the absolute end, then it is gone
    just_before = row.expires_at - timedelta(minutes=1)
    row.last_seen_at = just_before - timedelta(hours=1)
    session.add(row)
    session.commit()
    assert accounts.user_for_token(session, token, now=just_before) is not None
    assert accounts.user_for_token(session, token, now=row.expires_at) is None


def test_idle_session_ends_and_use_keeps_it_alive(session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "session_idle_minutes", 30)
    user = make_user(session, "producer")
    token = accounts.sign_in(session, email=user.email, password=PASSWORD)
    start = _row(session, token).created_at
    # used after 20 minutes: last_seen moves on, so 45 minutes after sign-in it is still alive
    assert accounts.user_for_token(session, token, now=start + timedelta(minutes=20))
    session.expire_all()
    assert _row(session, token).last_seen_at == start + timedelta(minutes=20)
    assert accounts.user_for_token(session, token, now=start + timedelta(minutes=45))
    # then 31 minutes without use: ended
    assert accounts.user_for_token(session, token, now=start + timedelta(minutes=77)) is None


def test_last_seen_is_written_at_most_once_a_minute(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "consumer")
    token = accounts.sign_in(session, email=user.email, password=PASSWORD)
    first = _row(session, token).last_seen_at
    assert first is not None
    accounts.user_for_token(session, token, now=first + timedelta(seconds=30))
    session.expire_all()
    assert _row(session, token).last_seen_at == first


def test_sessions_are_listed_with_device_and_can_be_revoked_one_by_one(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    other = make_user(session, "producer")
    laptop = accounts.sign_in(
        session, email=user.email, password=PASSWORD, client_ip="10.0.0.5", user_agent=CHROME
    )
    phone = accounts.sign_in(
        session, email=user.email, password=PASSWORD, client_ip="10.0.0.9", user_agent=FIREFOX
    )
    accounts.sign_in(session, email=other.email, password=PASSWORD)
    listed = accounts.list_sessions(session, actor=user, current_token=laptop)
    assert {s.device for s in listed} == {"Chrome on Linux", "Firefox on Windows"}
    assert [s.current for s in listed if s.device == "Chrome on Linux"] == [True]
    assert {s.client_ip for s in listed} == {"10.0.0.5", "10.0.0.9"}
    phone_id = next(s.public_id for s in listed if s.device == "Firefox on Windows")

    with pytest.raises(NotFound):  # not someone else's
        accounts.revoke_session(session, actor=other, session_id=phone_id)
    accounts.revoke_session(session, actor=user, session_id=phone_id)
    assert accounts.user_for_token(session, phone) is None
    assert accounts.user_for_token(session, laptop) is not None
    assert [s.device for s in accounts.list_sessions(session, actor=user)] == ["Chrome on Linux"]


def test_sign_out_everywhere_ends_every_session_of_the_person_only(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    other = make_user(session, "consumer")
    tokens = [accounts.sign_in(session, email=user.email, password=PASSWORD) for _ in range(3)]
    others = accounts.sign_in(session, email=other.email, password=PASSWORD)
    assert accounts.sign_out_everywhere(session, actor=user) == 3
    assert all(accounts.user_for_token(session, t) is None for t in tokens)
    assert accounts.list_sessions(session, actor=user) == []
    assert accounts.user_for_token(session, others) is not None
    # and signing in again works
    assert accounts.user_for_token(
        session, accounts.sign_in(session, email=user.email, password=PASSWORD)
    )


def test_describe_user_agent() -> None:
    assert accounts.describe_user_agent(CHROME) == "Chrome on Linux"
    assert accounts.describe_user_agent("python-httpx/0.28") == "Python (httpx)"
    assert accounts.describe_user_agent("") == "Unknown device"


# --- self-service sign-up and email verification -------------------------------------------------


def test_register_sends_a_verification_email_and_the_link_verifies(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = accounts.register(
        session,
        email="Rita@Example.com",
        password=PASSWORD,
        roles=["producer"],
        display_name="Rita",
        base_url="http://labelhub.test",
    )
    assert not user.email_verified and not accounts.may_sell(user)
    [path] = list(Path(settings.resolved_outbox_dir).glob("*.eml"))
    message = BytesParser(policy=policy.default).parse(path.open("rb"))
    assert message["To"] == "rita@example.com"
    assert "Verify your email" in message["Subject"]
    token = _link(settings, "rita@example.com", "/verify-email")
    assert "http://labelhub.test/verify-email?token=" in message.get_body().get_content()
    # only the hash is stored
    from labelhub_app.models.security import AccountToken

    assert token not in {t.token_hash for t in session.exec(select(AccountToken)).all()}

    verified = accounts.verify_email(session, token=token)
    assert verified.id == user.id and verified.email_verified and accounts.may_sell(verified)
    with pytest.raises(InvalidInput, match="used already"):
        accounts.verify_email(session, token=token)
    with pytest.raises(InvalidInput):
        accounts.verify_email(session, token="not-a-token")


def test_verification_link_expires(session, settings) -> None:  # type: ignore[no-untyped-def]
    accounts.register(
        session, email="old@example.com", password=PASSWORD, roles=["producer"], base_url="http://x"
    )
    token = _link(settings, "old@example.com", "/verify-email")
    from labelhub_app.models.security import AccountToken

    row = session.exec(select(AccountToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    with pytest.raises(InvalidInput, match="expired"):
        accounts.verify_email(session, token=token)


def test_resend_verification_is_limited_and_refused_once_verified(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = accounts.register(
        session, email="res@example.com", password=PASSWORD, roles=["producer"], base_url="http://x"
    )
    with pytest.raises(InvalidInput, match="less than a minute ago"):
        accounts.resend_verification(session, actor=user, base_url="http://x")
    from labelhub_app.models.security import AccountToken

    row = session.exec(select(AccountToken)).one()
    row.created_at = utcnow() - timedelta(minutes=2)
    session.add(row)
    session.commit()
    accounts.resend_verification(session, actor=user, base_url="http://x")
    assert len(read_outbox(settings.resolved_outbox_dir, to="res@example.com")) == 2
    # the newest link works; so does the older one (both are the person's own inbox)
    accounts.verify_email(session, token=_link(settings, "res@example.com", "/verify-email"))
    session.refresh(user)
    with pytest.raises(Conflict):
        accounts.resend_verification(session, actor=user, base_url="http://x")


def test_trusted_sign_up_is_verified_and_existing_accounts_were_marked(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")  # tests, the CLI and demo data use sign_up
    assert user.email_verified


# --- the browser routes: HttpOnly cookie, flash errors, sign out ----------------------------------


@pytest.fixture
def web(settings) -> TestClient:  # type: ignore[no-untyped-def]
    from labelhub_app.api.app import api

    return TestClient(api)


def test_sign_in_route_sets_an_httponly_cookie_and_sign_out_clears_it(web, session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    response = web.post(
        "/auth/signin",
        data={"email": user.email, "password": PASSWORD, "next": "/upload"},
        headers={"user-agent": CHROME},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/upload"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Path=/" in cookie
    token = response.cookies[SESSION_COOKIE]
    assert accounts.user_for_token(session, token).id == user.id  # type: ignore[union-attr]
    assert _row(session, token).user_agent == CHROME
    # images and the API accept the cookie
    assert web.get("/api/v1/me").json()["email"] == user.email

    out = web.get("/auth/signout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert (
        f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    session.expire_all()
    assert accounts.user_for_token(session, token) is None


def test_sign_in_route_sends_errors_back_as_a_flash_message(web, session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    response = web.post(
        "/auth/signin",
        data={"email": user.email, "password": "wrong password", "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert SESSION_COOKIE not in response.cookies
    from urllib.parse import unquote

    flash = unquote(response.cookies["lh_flash"])
    assert "Wrong email or password" in flash and user.email in flash
    # a good password with a foreign "next" still lands at home, not on another site
    ok = web.post(
        "/auth/signin",
        data={"email": user.email, "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert ok.headers["location"] == "/dashboard"


def test_sign_in_form_posted_from_another_site_is_refused(web, session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    response = web.post(
        "/auth/signin",
        data={"email": user.email, "password": PASSWORD},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert SESSION_COOKIE not in response.cookies
    same_site = web.post(
        "/auth/signin",
        data={"email": user.email, "password": PASSWORD},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same_site.headers["location"] == "http://testserver/dashboard"
    assert SESSION_COOKIE in same_site.cookies


def test_sign_up_route_registers_unverified_and_mails_the_link(web, session, settings) -> None:  # type: ignore[no-untyped-def]
    response = web.post(
        "/auth/signup",
        data={
            "display_name": "Sia",
            "email": "sia@example.com",
            "password": PASSWORD,
            "role_producer": "on",
        },
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "http://testserver/dashboard"
    assert SESSION_COOKIE in response.cookies
    user = session.exec(select(User).where(User.email == "sia@example.com")).one()
    assert user.roles == ["producer"] and not user.email_verified
    _link(settings, "sia@example.com", "/verify-email")
    taken = web.post(
        "/auth/signup",
        data={"email": "sia@example.com", "password": PASSWORD, "role_consumer": "on"},
        follow_redirects=False,
    )
    assert taken.headers["location"] == "/signup" and SESSION_COOKIE not in taken.cookies


def test_dev_outbox_page_only_in_dev_mode(web, session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    accounts.register(
        session, email="dev@example.com", password=PASSWORD, roles=["producer"], base_url="http://x"
    )
    assert web.get("/dev/outbox").status_code == 404
    monkeypatch.setattr(settings, "dev_pages", True)
    page = web.get("/dev/outbox", params={"to": "dev@example.com"})
    assert page.status_code == 200 and 'href="http://x/verify-email?token=' in page.text
    assert "dev@example.com" not in web.get("/dev/outbox", params={"to": "x@y.z"}).text


def test_migration_marks_existing_accounts_verified_and_keeps_their_sessions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Accounts from before #9 could already sell: the identity migration keeps it that way."""
    import sqlalchemy as sa

    from alembic import command
    from labelhub_app.migrations import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "e9a1b2c3d4f5")  # the step before identity_security
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (public_id, email, password_hash, display_name, about, "
                    "pseudonym, is_producer, is_consumer, is_reviewer, is_admin, created_at) "
                    "VALUES ('u-1', 'old@example.com', 'x', 'Old', '', 'old-owl-11', 1, 0, 0, 0, "
                    "'2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO auth_sessions (token_hash, user_id, created_at, expires_at) "
                    "VALUES ('h', 1, '2026-01-01 00:00:00', '2027-01-01 00:00:00')"
                )
            )
        upgrade(url, "e9b1b2c3d4f5")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email_verified_at FROM users")).scalar()
            public_id, method = conn.execute(
                sa.text("SELECT public_id, method FROM auth_sessions")
            ).one()
            assert len(public_id) == 36 and method == "password"
        command.downgrade(alembic_config(url), "e9a1b2c3d4f5")  # and back down cleanly
        with engine.connect() as conn:
            columns = [r[1] for r in conn.execute(sa.text("PRAGMA table_info(users)"))]
            assert "email_verified_at" not in columns
            assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 1
    finally:
        engine.dispose()
