"""Market licences: versioned licence texts and each image's offers (a licence kind + a price).

Three kinds: Standard (model training and internal use), Extended (redistribution inside a
product) and Exclusive (one buyer only; the image leaves the market once sold). A licence text is
never edited: a change is a new version, and a purchase records the version it was sold under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow

LICENCE_STANDARD = "standard"
LICENCE_EXTENDED = "extended"
LICENCE_EXCLUSIVE = "exclusive"
LICENCE_KINDS: tuple[str, ...] = (LICENCE_STANDARD, LICENCE_EXTENDED, LICENCE_EXCLUSIVE)

# Image.status values besides on_sale / withdrawn (models/images.py):
STATUS_RESERVED = "reserved"  # an Exclusive purchase is waiting for its card payment
STATUS_SOLD_EXCLUSIVE = (
    "sold_exclusive"  # sold under the Exclusive licence: off the market for good
)


class LicenceText(SQLModel, table=True):
    """One version of one licence kind's text. Rows are only ever added."""

    __tablename__ = "licence_texts"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_licence_texts_kind_version"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    version: int = Field(ge=1)
    title: str = Field(max_length=120)
    allows: str = Field(max_length=500)  # one line per permission, "\n"-separated
    forbids: str = Field(max_length=500)  # one line per restriction
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ImageOffer(SQLModel, table=True):
    """An image offered under one licence kind at one price (integer cents)."""

    __tablename__ = "image_offers"
    __table_args__ = (UniqueConstraint("image_id", "kind", name="uq_image_offers_image_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    kind: str = Field(max_length=16)
    price_cents: int = Field(ge=0)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
