"""Reviews of producers' labels, review requests, producer reputation, consumer ratings, gold items.

- ``reviews``: one reviewer's verdict on an image's labels at a revision: accepted, rejected (with a
  reason) or fixed (the reviewer saved a new revision; ``changes`` holds the diff it made).
  ``gold`` reviews are the unannounced checks of a reviewer on a gold image: they grade the
  reviewer, never count towards the producer's reputation and are not shown to the producer.
- ``review_requests``: an image put into the queue with a reason (e.g. low agreement after a
  campaign's consolidation); open until a review resolves it. Requested images come first.
- ``producer_reputation``: a cache of each producer's review counts and Beta posterior, updated in
  the transaction of each review, read by the market cards and the search index.
- ``ratings``: a consumer's 1-5 rating of an image they bought, one per purchase.
- ``gold_items`` / ``gold_results``: verified labels (a snapshot of tags and boxes) and each
  person's graded answers on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

OUTCOME_ACCEPTED = "accepted"
OUTCOME_REJECTED = "rejected"
OUTCOME_FIXED = "fixed"
OUTCOMES = (OUTCOME_ACCEPTED, OUTCOME_REJECTED, OUTCOME_FIXED)

GOLD_CONTEXTS = ("review", "tiled", "boxes")


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_producer_created", "producer_id", "created_at"),
        Index("ix_reviews_reviewer_created", "reviewer_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    image_id: int = Field(foreign_key="images.id", index=True)
    reviewer_id: int = Field(foreign_key="users.id")
    producer_id: int = Field(foreign_key="users.id")  # the image's owner when it was reviewed
    outcome: str = Field(max_length=12)  # accepted, rejected, fixed
    reason: str = Field(default="", max_length=1000)
    revision_before: int  # the revision the reviewer looked at
    revision_after: int | None = None  # the reviewer's own revision, for a fix
    changes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    gold: bool = False  # an unannounced gold check of the reviewer
    request_id: int | None = Field(default=None, foreign_key="review_requests.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ReviewRequest(SQLModel, table=True):
    __tablename__ = "review_requests"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    reason: str = Field(max_length=500)
    source: str = Field(default="consensus", max_length=16)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ProducerReputation(SQLModel, table=True):
    """Counts of a producer's (non-gold) reviews and the Beta posterior they give."""

    __tablename__ = "producer_reputation"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    accepted: int = 0
    rejected: int = 0
    fixed: int = 0
    reviews: int = 0
    mean: float = 0.0
    lower: float = 0.0  # the lower end of the credible interval: the score markets rank by
    upper: float = 1.0
    # the score the search index was last sent (outbox rows go out when it moves by a point)
    indexed_lower: float = 0.0
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Rating(SQLModel, table=True):
    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="purchases.id", unique=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    buyer_id: int = Field(foreign_key="users.id", index=True)
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class GoldItem(SQLModel, table=True):
    """Verified labels of an image: tags (names) and boxes ({label, x, y, w, h}) at marking time."""

    __tablename__ = "gold_items"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id", unique=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    boxes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    revision: int = 0  # the image revision the snapshot was taken from
    marked_by_id: int = Field(foreign_key="users.id")
    active: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class GoldResult(SQLModel, table=True):
    __tablename__ = "gold_results"
    __table_args__ = (Index("ix_gold_results_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    gold_item_id: int = Field(foreign_key="gold_items.id", index=True)
    image_id: int = Field(foreign_key="images.id")
    user_id: int = Field(foreign_key="users.id")
    context: str = Field(max_length=8)  # review, tiled, boxes
    correct: bool
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
