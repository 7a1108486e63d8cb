"""What people decided about the detector's suggestions (boxes with ``source="model"``).

A suggestion accepted in the editor becomes a human box (``source="human"``) that remembers where
it came from (``Box.model_version``, ``Box.accepted_score``, ``Box.verified_by_id``). A rejected
one is removed. Either way a ``SuggestionDecision`` row keeps the decision with the suggestion's
label and geometry, so that a re-run of the detector on the same image can leave out what a
person already rejected (services/suggestions.py: ``drop_rejected``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow

DECISION_ACCEPT = "accept"
DECISION_REJECT = "reject"


class SuggestionDecision(SQLModel, table=True):
    __tablename__ = "suggestion_decisions"
    __table_args__ = (Index("ix_suggestion_decisions_image_decision", "image_id", "decision"),)

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="images.id")
    box_public_id: str = Field(max_length=36, index=True)
    decision: str = Field(max_length=8)  # accept | reject
    label: str = Field(max_length=64)
    # the suggestion as the detector made it (original-image pixels)
    x: float
    y: float
    w: float
    h: float
    score: float | None = None
    model_version: str | None = Field(default=None, max_length=36)  # ModelVersion.public_id
    user_id: int = Field(foreign_key="users.id")
    revision: int  # the image revision that recorded it
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
