"""The label taxonomy: normalised names with an optional parent (dog is an animal)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow


class Label(SQLModel, table=True):
    __tablename__ = "labels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(
        unique=True, index=True, max_length=64
    )  # normalised: lower case, single spaces
    parent_id: int | None = Field(default=None, foreign_key="labels.id", index=True)
    coco_id: int | None = Field(default=None)  # the category id in COCO, for the starter taxonomy
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
