"""Account security: sign-in throttling and lockout, password reset by a mailed one-time link, and
email verification before selling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelhub_app import db
from labelhub_app.adapters.mail import read_outbox
from labelhub_app.errors import Forbidden, InvalidInput, NotAuthenticated
from labelhub_app.models import STATUS_ON_SALE, STATUS_WITHDRAWN, utcnow
from labelhub_app.models.security import AccountToken, LoginAttempt
from labelhub_app.services import accounts, images
from tests.factories import PASSWORD, make_user
from tests.images import make_jpeg

WRONG = "not the password"


def _fail(session, email: str, times: int, ip: str = "") -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        with pytest.raises(NotAuthenticated, match="Wrong email or password"):
            accounts.sign_in(session, email=email, password=WRONG, client_ip=ip)


def _age_attempts(session, minutes: int) -> None:  # type: ignore[no-untyped-def]
    for row in session.exec(select(LoginAttempt)).all():
        row.created_at = row.created_at - timedelta(minutes=minutes)
        session.add(row)
    session.commit()


# --- throttling -----------------------------------------------------------------------------------


def test_account_locks_after_five_failures_even_for_the_right_password(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    _fail(session, user.email, 5, ip="10.1.1.1")
    with pytest.raises(accounts.TooManyAttempts) as locked:
        accounts.sign_in(session, email=user.email, password=PASSWORD, client_ip="10.9.9.9")
    assert locked.value.message == "Too many attempts; try again in 5 minutes."
    assert 290 < locked.value.retry_after_s <= 300
    # attempts during the lockout are not recorded (they would only extend it)
    assert len(session.exec(select(LoginAttempt)).all()) == 5
    # another account is not affected
    other = make_user(session, "producer")
    assert accounts.sign_in(session, email=other.email, password=PASSWORD, client_ip="10.9.9.9")


def test_lockout_ends_after_five_minutes_and_a_success_resets_the_count(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    _fail(session, user.email, 5)
    _age_attempts(session, 3)
    with pytest.raises(accounts.TooManyAttempts, match="try again in 2 minutes"):
        accounts.sign_in(session, email=user.email, password=PASSWORD)
    _age_attempts(session, 3)
    assert accounts.sign_in(session, email=user.email, password=PASSWORD)
    # after the success, four new failures do not lock
    _fail(session, user.email, 4)
    assert accounts.sign_in(session, email=user.email, password=PASSWORD)


def test_failures_outside_the_window_do_not_count(session) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    _fail(session, user.email, 4)
    _age_attempts(session, 16)
    _fail(session, user.email, 4)
    assert accounts.sign_in(session, email=user.email, password=PASSWORD)


def test_one_address_trying_many_accounts_is_locked(session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "login_max_failures_per_address", 6)
    users = [make_user(session, "consumer") for _ in range(3)]
    for user in users:
        _fail(session, user.email, 2, ip="203.0.113.7")
    with pytest.raises(accounts.TooManyAttempts, match="Too many attempts; try again in 5"):
        accounts.sign_in(session, email=users[0].email, password=PASSWORD, client_ip="203.0.113.7")
    # the same people from their own addresses are fine
    assert accounts.sign_in(session, email=users[0].email, password=PASSWORD, client_ip="10.0.0.1")


def test_unknown_emails_are_throttled_like_real_ones(session) -> None:  # type: ignore[no-untyped-def]
    _fail(session, "nobody@example.com", 5)
    with pytest.raises(accounts.TooManyAttempts):
        accounts.sign_in(session, email="NOBODY@example.com", password=WRONG)


def test_lockout_holds_across_processes(session, settings) -> None:  # type: ignore[no-untyped-def]
    """The attempts are rows in the database: a second engine (another process) sees them."""
    user = make_user(session, "producer")
    _fail(session, user.email, 5)
    other_engine = db.make_engine(settings.resolved_database_url)
    try:
        with Session(other_engine) as elsewhere, pytest.raises(accounts.TooManyAttempts):
            accounts.sign_in(elsewhere, email=user.email, password=PASSWORD)
    finally:
        other_engine.dispose()


def test_api_login_lockout_is_a_429_with_retry_after(session, settings) -> None:  # type: ignore[no-untyped-def]
    from labelhub_app.api.app import api
    from labelhub_app.api.ratelimit import reset_limits

    reset_limits()
    user = make_user(session, "producer")
    client = TestClient(api)
    for _ in range(5):
        assert (
            client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": WRONG}
            ).status_code
            == 401
        )
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    reset_limits()
    assert response.status_code == 429, response.text
    assert response.json()["error"]["message"] == "Too many attempts; try again in 5 minutes."
    assert 290 <= int(response.headers["retry-after"]) <= 300


def test_sign_in_route_shows_the_lockout_message(session, settings) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import unquote

    from labelhub_app.api.app import api

    user = make_user(session, "producer")
    client = TestClient(api)
    for _ in range(6):
        response = client.post(
            "/auth/signin", data={"email": user.email, "password": WRONG}, follow_redirects=False
        )
    assert "Too many attempts; try again in 5 minutes." in unquote(response.cookies["lh_flash"])


# --- password reset -------------------------------------------------------------------------------


def _reset_token(settings, email: str) -> str:  # type: ignore[no-untyped-def]
    [message] = read_outbox(settings.resolved_outbox_dir, to=email)[:1]
    assert message.subject == "Reset your LabelHub password"
    match = re.search(r"http://labelhub\.test/reset-password\?token=(\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_end_to_end(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    old_session = accounts.sign_in(session, email=user.email, password=PASSWORD)
    accounts.request_password_reset(
        session, email=user.email.upper(), base_url="http://labelhub.test"
    )
    token = _reset_token(settings, user.email)
    row = session.exec(select(AccountToken)).one()
    assert row.token_hash == accounts._token_hash(token) and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(minutes=60)
    assert accounts.check_reset_token(session, token=token) == user.email

    with pytest.raises(InvalidInput, match="at least 8"):
        accounts.reset_password(session, token=token, password="short")
    accounts.reset_password(session, token=token, password="a brand new secret")
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(session, email=user.email, password=PASSWORD)
    assert accounts.sign_in(session, email=user.email, password="a brand new secret")
    assert accounts.user_for_token(session, old_session) is None  # every session ended
    with pytest.raises(InvalidInput, match="used already"):  # single use
        accounts.reset_password(session, token=token, password="yet another secret")
    with pytest.raises(InvalidInput):
        accounts.check_reset_token(session, token=token)


def test_reset_link_expires(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    token = _reset_token(settings, user.email)
    row = session.exec(select(AccountToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    with pytest.raises(InvalidInput, match="expired"):
        accounts.reset_password(session, token=token, password="a brand new secret")


def test_a_new_link_after_reset_cancels_older_ones(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    first = _reset_token(settings, user.email)
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    second = _reset_token(settings, user.email)
    assert first != second
    accounts.reset_password(session, token=second, password="a brand new secret")
    with pytest.raises(InvalidInput):
        accounts.reset_password(session, token=first, password="an attacker's secret")


def test_reset_for_an_unknown_email_says_nothing_and_sends_nothing(session, settings) -> None:  # type: ignore[no-untyped-def]
    accounts.request_password_reset(session, email="ghost@example.com", base_url="http://x")
    assert read_outbox(settings.resolved_outbox_dir) == []
    with pytest.raises(InvalidInput):
        accounts.request_password_reset(session, email="not an email", base_url="http://x")


def test_reset_mails_are_limited_per_hour(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "producer")
    for _ in range(accounts.RESETS_PER_HOUR + 3):
        accounts.request_password_reset(session, email=user.email, base_url="http://x")
    assert len(read_outbox(settings.resolved_outbox_dir)) == accounts.RESETS_PER_HOUR


def test_reset_lifts_a_lockout_and_verifies_the_address(session, settings) -> None:  # type: ignore[no-untyped-def]
    user = accounts.register(
        session, email="lou@example.com", password=PASSWORD, roles=["producer"], base_url="http://x"
    )
    _fail(session, user.email, 5)
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    reset = _reset_token(settings, user.email)
    fixed = accounts.reset_password(session, token=reset, password="a brand new secret")
    assert fixed.email_verified  # the link reached the inbox
    assert accounts.sign_in(session, email=user.email, password="a brand new secret")


def test_outbox_messages_are_complete_eml_files(session, settings) -> None:  # type: ignore[no-untyped-def]
    from email import policy
    from email.parser import BytesParser

    user = make_user(session, "producer")
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    [path] = list(settings.resolved_outbox_dir.glob("*.eml"))
    message = BytesParser(policy=policy.default).parse(path.open("rb"))
    assert message["From"] == settings.mail_from and message["To"] == user.email
    assert message["Message-ID"] and message["Date"]


# --- email verification before selling ------------------------------------------------------------


def _unverified_producer(session):  # type: ignore[no-untyped-def]
    return accounts.register(
        session, email="una@example.com", password=PASSWORD, roles=["producer"], base_url="http://x"
    )


def test_unverified_producer_uploads_but_nothing_goes_on_sale(session, settings) -> None:  # type: ignore[no-untyped-def]
    producer = _unverified_producer(session)
    [result] = images.ingest_images(
        session,
        actor=producer,
        files=[images.UploadedFile("a.jpg", make_jpeg(320, 240, seed=101))],
        labels=["dog"],
        price_cents=250,
        licence="standard",
    )
    assert result.ok and "verify your email address to put it on sale" in result.message
    image = images.get_image(session, result.image_id)  # type: ignore[arg-type]
    assert image.status == STATUS_WITHDRAWN
    # labelling and pricing still work
    images.update_image(
        session, actor=producer, public_id=image.public_id, labels=["dog", "ball"], price_cents=300
    )
    with pytest.raises(Forbidden, match="Verify your email address before selling"):
        images.set_image_on_sale(session, actor=producer, public_id=image.public_id, on_sale=True)
    assert images.get_image(session, image.public_id).status == STATUS_WITHDRAWN

    token = re.search(
        r"token=(\S+)", read_outbox(settings.resolved_outbox_dir, to=producer.email)[0].body
    ).group(1)  # type: ignore[union-attr]
    producer = accounts.verify_email(session, token=token)
    images.set_image_on_sale(session, actor=producer, public_id=image.public_id, on_sale=True)
    assert images.get_image(session, image.public_id).status == STATUS_ON_SALE
    [later] = images.ingest_images(
        session,
        actor=producer,
        files=[images.UploadedFile("b.jpg", make_jpeg(320, 240, seed=202))],
        price_cents=250,
        licence="standard",
    )
    assert images.get_image(session, later.image_id).status == STATUS_ON_SALE  # type: ignore[arg-type]


def test_withdrawing_never_needs_verification(session) -> None:  # type: ignore[no-untyped-def]
    producer = _unverified_producer(session)
    [result] = images.ingest_images(
        session,
        actor=producer,
        files=[images.UploadedFile("c.jpg", make_jpeg(320, 240, seed=303))],
        price_cents=250,
        licence="standard",
    )
    images.set_image_on_sale(
        session,
        actor=producer,
        public_id=result.image_id,
        on_sale=False,  # type: ignore[arg-type]
    )


def test_cli_outbox_shows_the_mail(session, settings) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from labelhub_app.cli import app

    user = make_user(session, "producer")
    accounts.request_password_reset(session, email=user.email, base_url="http://labelhub.test")
    result = CliRunner().invoke(app, ["outbox", "--to", user.email, "--full"])
    assert result.exit_code == 0, result.output
    assert "Reset your LabelHub password" in result.output
    assert "http://labelhub.test/reset-password?token=" in result.output
    empty = CliRunner().invoke(app, ["outbox", "--to", "nobody@example.com"])
    assert empty.exit_code == 0 and "No messages" in empty.output
