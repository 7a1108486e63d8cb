"""Account security: linked sign-in providers, sign-in attempts, one-time email links, OIDC logins.

Secrets are never stored: one-time tokens keep only their SHA-256 (like sessions). Sign-in
attempts live in the database so that throttling holds across every app and API process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow

TOKEN_RESET = "reset"  # password reset link
TOKEN_VERIFY = "verify"  # email verification link


class ExternalIdentity(SQLModel, table=True):
    """An account at an OpenID Connect provider linked to a LabelHub account (issuer + subject)."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    issuer: str = Field(max_length=300)
    subject: str = Field(max_length=255)
    email: str = Field(default="", max_length=320)  # as the provider last reported it
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_login_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class LoginAttempt(SQLModel, table=True):
    """One password sign-in attempt (kept for the throttling window, then swept)."""

    __tablename__ = "login_attempts"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, max_length=320)  # normalised, whether or not it exists
    client_ip: str = Field(index=True, max_length=64)
    succeeded: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )


class AccountToken(SQLModel, table=True):
    """A one-time link mailed to a person: password reset or email verification."""

    __tablename__ = "account_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=16)  # TOKEN_RESET | TOKEN_VERIFY
    token_hash: str = Field(unique=True, index=True, max_length=64)
    email: str = Field(max_length=320)  # the address the link was sent to
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class OidcLogin(SQLModel, table=True):
    """A sign-in sent to the provider and not yet back: its state, nonce and PKCE verifier.

    The browser holds the state in an HttpOnly cookie too; the callback must bring back the same
    state, and the ID token the same nonce. Used once, then deleted.
    """

    __tablename__ = "oidc_logins"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(unique=True, index=True, max_length=64)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    redirect_uri: str = Field(max_length=500)
    next_path: str = Field(default="", max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
