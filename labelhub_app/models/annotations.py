"""Bounding boxes, the revisions of an image's annotations, and the operation log.

``boxes`` holds the current state (one row per box). Every save appends an
``annotation_revisions`` row with the changes it made, so any earlier state can be rebuilt by
replaying revisions 1..N; nothing is overwritten or lost. Coordinates are in original-image
pixels: x, y the top-left corner, x to the right, y down; w, h the size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow

SOURCE_HUMAN = "human"
SOURCE_MODEL = "model"


class Box(SQLModel, table=True):
    __tablename__ = "boxes"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        unique=True, max_length=36
    )  # made by the editor, so retries are idempotent
    image_id: int = Field(foreign_key="images.id", index=True)
    label_id: int = Field(foreign_key="labels.id", index=True)
    x: float
    y: float
    w: float
    h: float
    author_id: int = Field(foreign_key="users.id")
    source: str = Field(default=SOURCE_HUMAN, max_length=8)
    score: float | None = None
    # Suggestions (#6): the ModelVersion.public_id that made the box; kept when a person accepts it,
    # who accepted it and the score it had then (models/suggestions.py).
    model_version: str | None = Field(default=None, max_length=36)
    verified_by_id: int | None = Field(default=None, foreign_key="users.id")
    accepted_score: float | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AnnotationRevision(SQLModel, table=True):
    """One save of an image's boxes and tags: who, when, and the list of changes.

    ``changes`` is a list of operations: {"op": "add", "box": {...}}, {"op": "remove", "box": {...}},
    {"op": "update", "before": {...}, "after": {...}}, {"op": "tag_add" | "tag_remove", "label": str}.
    A box dict is {"id", "label", "x", "y", "w", "h", "source", "score"}.
    """

    __tablename__ = "annotation_revisions"
    __table_args__ = (
        UniqueConstraint("image_id", "number", name="uq_annotation_revisions_image_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    number: int  # 1, 2, ... per image
    author_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(default="edit", max_length=12)  # upload, edit, restore
    restored_from: int | None = None
    summary: str = Field(default="", max_length=200)
    save_key: str | None = Field(
        default=None, unique=True, max_length=80
    )  # a retried save lands once
    changes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Operation(SQLModel, table=True):
    """The operation log: every label action of every user, with its payload."""

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operations_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    image_id: int = Field(foreign_key="images.id", index=True)
    action: str = Field(
        max_length=16, index=True
    )  # create, update, delete, restore, tag_add, tag_remove
    revision: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
