"""People and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

ROLES = ("producer", "consumer", "reviewer")


class User(SQLModel, table=True):
    """An account. ``password_hash`` never leaves the server; others see only ``pseudonym``."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    email: str = Field(unique=True, index=True, max_length=320)
    password_hash: str = Field(max_length=200)
    display_name: str = Field(default="", max_length=80)
    about: str = Field(default="", max_length=2000)
    pseudonym: str = Field(unique=True, index=True, max_length=80)
    is_producer: bool = False
    is_consumer: bool = False
    is_reviewer: bool = False
    is_admin: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # When the person proved they read this address (a link we mailed, or a provider's
    # email_verified claim); None: unverified, so their images cannot go on sale yet.
    email_verified_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def roles(self) -> list[str]:
        return [r for r in ROLES if getattr(self, f"is_{r}")]


class AuthSession(SQLModel, table=True):
    """A signed-in browser or client; only the SHA-256 of its token is stored.

    It ends at ``expires_at`` (absolute), after ``session_idle_minutes`` without use
    (``last_seen_at``), or when revoked (sign out, "sign out everywhere", a password reset).
    """

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_seen_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    user_agent: str = Field(default="", max_length=300)
    client_ip: str = Field(default="", max_length=64)
    method: str = Field(default="password", max_length=16)  # password | oidc | api
