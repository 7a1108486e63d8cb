"""Where each outbox consumer (the OpenSearch dispatcher) has got to, stored durably."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow


class SearchDispatchCursor(SQLModel, table=True):
    """One row per consumer of ``search_outbox`` that applies it to an external index.

    ``position``: every outbox id up to it has been applied (a low-water mark: ids above it may
    be applied too, and are applied again after a restart, which is harmless). ``failures`` counts
    consecutive failed attempts and ``last_error`` says why, for ``labelhub check`` and people.
    """

    __tablename__ = "search_dispatch_cursors"

    name: str = Field(primary_key=True, max_length=64)
    position: int = Field(default=0)
    applied_count: int = Field(default=0)
    failures: int = Field(default=0)
    last_error: str = Field(default="", max_length=500)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
