"""Personal access tokens: long-lived credentials for scripts and the Python client.

Only the SHA-256 of a token is stored (like sessions); ``prefix`` keeps its first characters so a
person can tell their tokens apart in a list. A token is revoked, never deleted, so its name and
dates stay visible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_tokens"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    prefix: str = Field(max_length=16)  # "lh_pat_" and the first characters, for display
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
