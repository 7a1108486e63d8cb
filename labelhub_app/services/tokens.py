"""Personal access tokens: create (shown once), list, revoke, and look up the user of one.

A token is ``lh_pat_`` followed by 43 URL-safe characters (32 random bytes). Only its SHA-256 is
stored, as for sessions, so a database leak gives no usable token. Scripts send it as
``Authorization: Bearer lh_pat_...``; the prefix tells the API it is an access token and not a
session token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from labelhub_app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import AccessToken, User, utcnow

TOKEN_PREFIX = "lh_pat_"
MAX_NAME = 80
MAX_ACTIVE_TOKENS = 50
MAX_EXPIRY_DAYS = 366
DISPLAY_CHARS = 4  # of the random part kept in ``prefix``, to tell tokens apart
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is written at most this often per token


@dataclass(frozen=True)
class TokenInfo:
    """What the owner may see about a token; never the token itself."""

    public_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())

    @classmethod
    def of(cls, row: AccessToken) -> TokenInfo:
        return cls(
            row.public_id,
            row.name,
            row.prefix,
            row.created_at,
            row.expires_at,
            row.last_used_at,
            row.revoked_at,
        )


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: ``token`` is shown to its owner once and never stored."""

    token: str
    info: TokenInfo


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_access_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX)


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the token a name, like 'training laptop'.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Token names are at most {MAX_NAME} characters.")
    return name


def _active(query, now: datetime):  # type: ignore[no-untyped-def]
    return query.where(
        col(AccessToken.revoked_at).is_(None),
        (col(AccessToken.expires_at).is_(None)) | (col(AccessToken.expires_at) > now),
    )


def create_token(
    session: Session, *, actor: User | None, name: str, expires_in_days: int | None = None
) -> NewToken:
    """Make a token for the actor; ``expires_in_days`` None means it lasts until revoked."""
    if actor is None:
        raise NotAuthenticated("Sign in to create access tokens.")
    name = _check_name(name)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"A token can expire in 1 to {MAX_EXPIRY_DAYS} days, or never.")
    now = utcnow()
    active = _active(select(AccessToken).where(AccessToken.user_id == actor.id), now)
    if session.exec(active.where(AccessToken.name == name)).first() is not None:
        raise Conflict(f"You already have a token called {name!r}; choose another name.")
    count = session.exec(select(func.count()).select_from(active.subquery())).one()
    if count >= MAX_ACTIVE_TOKENS:
        raise Conflict(
            f"You have {MAX_ACTIVE_TOKENS} active tokens, the most allowed; "
            "revoke unused ones first."
        )
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{secret}"
    row = AccessToken(
        user_id=actor.id,  # type: ignore[arg-type]
        name=name,
        token_hash=token_hash(token),
        prefix=f"{TOKEN_PREFIX}{secret[:DISPLAY_CHARS]}",
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return NewToken(token, TokenInfo.of(row))


def list_tokens(
    session: Session, *, actor: User | None, include_inactive: bool = False
) -> list[TokenInfo]:
    """The actor's tokens, newest first (revoked and expired ones too when asked)."""
    if actor is None:
        raise NotAuthenticated("Sign in to see your access tokens.")
    query = select(AccessToken).where(AccessToken.user_id == actor.id)
    if not include_inactive:
        query = _active(query, utcnow())
    rows = session.exec(
        query.order_by(col(AccessToken.created_at).desc(), col(AccessToken.id).desc())
    ).all()
    return [TokenInfo.of(r) for r in rows]


def revoke_token(session: Session, *, actor: User | None, token_id: str) -> TokenInfo:
    """Revoke one of the actor's tokens (idempotent); another person's token is not found."""
    if actor is None:
        raise NotAuthenticated("Sign in to revoke access tokens.")
    row = session.exec(select(AccessToken).where(AccessToken.public_id == token_id)).first()
    if row is None or row.user_id != actor.id:
        raise NotFound("No such access token among yours.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
    return TokenInfo.of(row)


def user_for_access_token(
    session: Session, token: str, *, now: datetime | None = None
) -> User | None:
    """The owner of a live access token, or None (unknown, revoked or expired).

    Records when the token was last used, at most once per ``TOUCH_INTERVAL`` so that a busy
    script does not turn every request into a write.
    """
    if not is_access_token(token):
        return None
    now = now or utcnow()
    row = session.exec(
        select(AccessToken).where(AccessToken.token_hash == token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return session.get(User, row.user_id)
