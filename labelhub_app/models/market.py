"""Consumers' projects and their purchases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    owner_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=120)
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ProjectItem(SQLModel, table=True):
    """An image added to a project; it is bought when a purchase exists for it."""

    __tablename__ = "project_items"

    project_id: int = Field(foreign_key="projects.id", primary_key=True)
    image_id: int = Field(foreign_key="images.id", primary_key=True)
    added_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Purchase(SQLModel, table=True):
    """A consumer owns an image. The price and licence are copied as they were at the sale."""

    __tablename__ = "purchases"
    __table_args__ = (UniqueConstraint("buyer_id", "image_id", name="uq_purchases_buyer_image"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    buyer_id: int = Field(foreign_key="users.id", index=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    price_cents: int = Field(ge=0)
    licence: str = Field(max_length=32)  # the licence code as sold (standard, cc-by-4.0, extended...)
    # The market licence kind (models/licences.py) and the exact version of its text at the sale.
    licence_kind: str = Field(default="standard", max_length=16)
    licence_version: int | None = Field(default=None)
    ledger_txn_id: int = Field(foreign_key="ledger_transactions.id", index=True)
    refunded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
