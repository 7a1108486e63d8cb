"""Accounts: sign up, sign in, sessions, profiles and roles."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from labelhub_app.adapters.identity.passwords import hash_password, needs_rehash, verify_password
from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from labelhub_app.models import ROLES, AuthSession, User, utcnow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8

_ADJECTIVES = ["amber", "azure", "bold", "brave", "bright", "calm", "clever", "coral", "crisp", "deft", "eager", "fleet", "gentle", "golden", "hazel", "jade", "keen", "lively", "lucid", "mellow", "misty", "noble", "nimble", "olive", "quiet", "rapid", "rosy", "sage", "silver", "sly", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty"]
_ANIMALS = ["badger", "beaver", "bison", "crane", "falcon", "ferret", "finch", "fox", "gecko", "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marten", "mole", "newt", "ocelot", "otter", "owl", "panda", "puffin", "quail", "raven", "robin", "seal", "stoat", "swan", "tapir", "toucan", "vole", "walrus", "wren", "yak", "zebra"]


@dataclass(frozen=True)
class UserPublic:
    """What a page may hold about the signed-in person (no hash, no tokens)."""

    public_id: str
    email: str
    display_name: str
    about: str
    pseudonym: str
    roles: list[str]
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            user.public_id,
            user.email,
            user.display_name,
            user.about,
            user.pseudonym,
            user.roles,
            user.is_admin,
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_roles(roles: list[str] | tuple[str, ...] | set[str]) -> set[str]:
    chosen = {r.strip().lower() for r in roles if r.strip()}
    unknown = chosen - set(ROLES)
    if unknown:
        raise InvalidInput(f"Unknown role {sorted(unknown)[0]!r}; choose from {', '.join(ROLES)}.")
    if not chosen:
        raise InvalidInput("Choose at least one role: producer, consumer or reviewer.")
    return chosen


def _new_pseudonym(session: Session) -> str:
    for _ in range(50):
        name = (
            f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_ANIMALS)}-{secrets.randbelow(90) + 10}"
        )
        if session.exec(select(User.id).where(User.pseudonym == name)).first() is None:
            return name
    return f"labeller-{secrets.token_hex(4)}"


def sign_up(
    session: Session,
    *,
    email: str,
    password: str,
    roles: list[str] | tuple[str, ...] | set[str],
    display_name: str = "",
) -> User:
    """Create an account with an argon2 password hash and a generated pseudonym."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("Enter a valid email address, like name@example.com.")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD} characters.")
    chosen = _check_roles(roles)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("An account with this email already exists. Sign in instead.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip()[:80] or email.split("@")[0],
        pseudonym=_new_pseudonym(session),
        **{f"is_{r}": r in chosen for r in ROLES},
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    if user.is_consumer:
        from labelhub_app.services.ledger import grant_welcome_credits

        grant_welcome_credits(session, user=user)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, *, email: str, password: str) -> str:
    """Check the password and open a session; returns the session token (stored only hashed)."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not verify_password(user.password_hash, password):
        raise NotAuthenticated("Wrong email or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            token_hash=_token_hash(token),
            user_id=user.id,  # type: ignore[arg-type]
            created_at=now,
            expires_at=now + timedelta(days=get_settings().session_days),
        )
    )
    session.commit()
    return token


def sign_out(session: Session, *, token: str) -> None:
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The user of a live session token, or None (unknown, expired or signed out)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return session.get(User, row.user_id)


def update_profile(
    session: Session,
    *,
    actor: User,
    display_name: str | None = None,
    about: str | None = None,
    roles: list[str] | None = None,
) -> User:
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name:
            raise InvalidInput("Display name cannot be empty.")
        if len(display_name) > 80:
            raise InvalidInput("Display name is too long (80 characters at most).")
        actor.display_name = display_name
    if about is not None:
        if len(about) > 2000:
            raise InvalidInput("About is too long (2,000 characters at most).")
        actor.about = about.strip()
    if roles is not None:
        chosen = _check_roles(roles)
        became_consumer = "consumer" in chosen and not actor.is_consumer
        for r in ROLES:
            setattr(actor, f"is_{r}", r in chosen)
    else:
        became_consumer = False
    session.add(actor)
    session.commit()
    session.refresh(actor)
    if became_consumer:
        from labelhub_app.services.ledger import grant_welcome_credits

        grant_welcome_credits(session, user=actor)
    return actor


def require_role(user: User | None, role: str) -> User:
    """The user if signed in and holding ``role``; else a NotAuthenticated / Forbidden error."""
    if user is None:
        raise NotAuthenticated("Sign in first.")
    if not getattr(user, f"is_{role}", False) and not user.is_admin:
        raise Forbidden(f"This needs the {role} role; add it on your profile page.")
    return user


def set_admin(session: Session, *, email: str, admin: bool = True) -> User:
    """Grant or take back the admin flag (the `labelhub make-admin` command; no page does this)."""
    from labelhub_app.errors import NotFound

    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise NotFound(f"There is no account with the email {email}.")
    user.is_admin = admin
    session.add(user)
    session.commit()
    return user
