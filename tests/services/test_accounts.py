from datetime import timedelta

import pytest

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from labelhub_app.models import utcnow
from labelhub_app.services import accounts, ledger
from tests.factories import PASSWORD, make_user


def test_sign_up_hashes_password_and_gives_pseudonym(session):
    user = accounts.sign_up(
        session, email=" Ada@Example.COM ", password="s3cret-pass", roles=["producer", "consumer"]
    )
    assert user.email == "ada@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in user.password_hash
    assert user.roles == ["producer", "consumer"]
    assert user.pseudonym and "@" not in user.pseudonym and "ada" not in user.pseudonym


def test_pseudonyms_are_unique(session):
    names = {make_user(session, "producer").pseudonym for _ in range(20)}
    assert len(names) == 20


@pytest.mark.parametrize(
    ("email", "password", "roles", "message"),
    [
        ("not-an-email", "longenough", ["consumer"], "valid email"),
        ("a@b.co", "short", ["consumer"], "at least 8"),
        ("a@b.co", "longenough", [], "at least one role"),
        ("a@b.co", "longenough", ["wizard"], "Unknown role"),
    ],
)
def test_sign_up_refuses_bad_input(session, email, password, roles, message):
    with pytest.raises(InvalidInput, match=message):
        accounts.sign_up(session, email=email, password=password, roles=roles)


def test_sign_up_refuses_taken_email(session):
    make_user(session, email="taken@example.com")
    with pytest.raises(Conflict, match="already exists"):
        accounts.sign_up(session, email="TAKEN@example.com", password=PASSWORD, roles=["consumer"])


def test_sign_in_session_and_sign_out(session):
    user = make_user(session, "consumer", email="bo@example.com")
    token = accounts.sign_in(session, email="BO@example.com", password=PASSWORD)
    assert accounts.user_for_token(session, token).id == user.id
    accounts.sign_out(session, token=token)
    assert accounts.user_for_token(session, token) is None


def test_wrong_password_and_unknown_email_give_the_same_message(session):
    make_user(session, email="cy@example.com")
    with pytest.raises(NotAuthenticated, match="Wrong email or password"):
        accounts.sign_in(session, email="cy@example.com", password="wrong password")
    with pytest.raises(NotAuthenticated, match="Wrong email or password"):
        accounts.sign_in(session, email="nobody@example.com", password=PASSWORD)


def test_sessions_expire(session):
    make_user(session, email="dee@example.com")
    token = accounts.sign_in(session, email="dee@example.com", password=PASSWORD)
    later = utcnow() + timedelta(days=31)
    assert accounts.user_for_token(session, token, now=later) is None
    assert accounts.user_for_token(session, "made-up-token") is None


def test_tokens_are_stored_hashed(session):
    from sqlmodel import select

    from labelhub_app.models import AuthSession

    make_user(session, email="eve@example.com")
    token = accounts.sign_in(session, email="eve@example.com", password=PASSWORD)
    stored = session.exec(select(AuthSession.token_hash)).all()
    assert token not in stored and len(stored[0]) == 64


def test_profile_update_and_role_change(session):
    user = make_user(session, "producer")
    accounts.update_profile(
        session,
        actor=user,
        display_name="  Flo ",
        about="I label birds.",
        roles=["producer", "reviewer"],
    )
    assert (user.display_name, user.about, user.roles) == (
        "Flo",
        "I label birds.",
        ["producer", "reviewer"],
    )
    with pytest.raises(InvalidInput):
        accounts.update_profile(session, actor=user, display_name="   ")
    with pytest.raises(InvalidInput):
        accounts.update_profile(session, actor=user, roles=[])


def test_consumers_get_welcome_credits_once(session, settings):
    user = make_user(session, "producer")
    assert ledger.balance(session, user=user) == 0
    accounts.update_profile(session, actor=user, roles=["producer", "consumer"])
    accounts.update_profile(session, actor=user, roles=["consumer"])
    assert ledger.balance(session, user=user) == settings.demo_credits_cents


def test_require_role(session):
    producer = make_user(session, "producer")
    with pytest.raises(NotAuthenticated):
        accounts.require_role(None, "producer")
    with pytest.raises(Forbidden, match="consumer role"):
        accounts.require_role(producer, "consumer")
    assert accounts.require_role(producer, "producer") is producer
