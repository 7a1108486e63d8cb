"""Images offered in the market and their image-level labels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

LICENCES: dict[str, str] = {
    "standard": "LabelHub Standard: model training and internal use",
    "cc-by-4.0": "Creative Commons Attribution 4.0",
    "cc0-1.0": "CC0 1.0 public domain dedication",
}

STATUS_ON_SALE = "on_sale"
STATUS_WITHDRAWN = "withdrawn"


class Image(SQLModel, table=True):
    """One stored image. Never deleted once sold: withdrawing only takes it off the market."""

    __tablename__ = "images"
    __table_args__ = (Index("ix_images_owner_created", "owner_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    owner_id: int = Field(foreign_key="users.id")
    file_name: str = Field(max_length=255)  # as uploaded, cleaned for display
    upload_sha256: str = Field(
        unique=True, max_length=64
    )  # of the uploaded bytes: exact duplicates
    object_key: str = Field(
        max_length=128
    )  # content-addressed key of the stored (cleaned) original
    phash: str = Field(index=True, max_length=16)  # 64-bit perceptual hash, hex
    near_duplicate_of_id: int | None = Field(default=None, foreign_key="images.id")
    width: int
    height: int
    format: str = Field(max_length=10)  # JPEG, PNG, WEBP, GIF...
    size_bytes: int
    price_cents: int = Field(ge=0)
    licence: str = Field(max_length=32)
    status: str = Field(default=STATUS_ON_SALE, max_length=16, index=True)
    revision: int = 0  # number of the latest annotation revision (0: none yet)
    sales_count: int = 0
    income_cents: int = 0  # producer's share of all sales, kept with each sale
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ImageLabel(SQLModel, table=True):
    __tablename__ = "image_labels"
    __table_args__ = (Index("ix_image_labels_label", "label_id", "image_id"),)

    image_id: int = Field(foreign_key="images.id", primary_key=True)
    label_id: int = Field(foreign_key="labels.id", primary_key=True)
    added_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class SearchOutbox(SQLModel, table=True):
    """One row per change that a search index must apply, written in the same transaction.

    Every index (the embedded one in each process, OpenSearch later) remembers the last id it
    applied and reloads the named images from the database, so nothing is missed.
    """

    __tablename__ = "search_outbox"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
