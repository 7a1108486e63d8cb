"""Labelling campaigns: several labellers answer the same question; their answers are consolidated.

A campaign (owned by a producer for their images, or a consumer for images bought into a
project) holds a set of images, a label set and how many labellers should answer each image.
Labellers join and take *tasks*: for kind "tags" a tiled page of up to 20 images and ONE label
("select every image that shows: dog"), for kind "boxes" one image in the box editor. Each
labeller's answers are stored separately (``campaign_answers``), never overwriting each other,
and only the campaign owner ever sees them side by side. Consolidation writes one
``campaign_results`` row per image (and label) with the method, the agreement and whether it
went to review, and turns the result into an annotation revision of the image.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

KIND_TAGS = "tags"
KIND_BOXES = "boxes"
CAMPAIGN_KINDS = (KIND_TAGS, KIND_BOXES)

TASK_OPEN = "open"
TASK_SUBMITTED = "submitted"


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    owner_id: int = Field(foreign_key="users.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id")
    name: str = Field(max_length=120)
    kind: str = Field(default=KIND_TAGS, max_length=8)  # tags | boxes
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    labellers_per_image: int = 3  # 1-5
    agreement_threshold: float = 0.7  # below it an image goes to the review queue
    images_count: int = 0
    answers_needed: int = 0  # images x labellers (x labels for "tags")
    answers_done: int = 0
    consolidated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class CampaignImage(SQLModel, table=True):
    __tablename__ = "campaign_images"

    campaign_id: int = Field(foreign_key="campaigns.id", primary_key=True)
    image_id: int = Field(foreign_key="images.id", primary_key=True, index=True)
    position: int = 0  # order of work: images are handed out in this order


class CampaignLabeller(SQLModel, table=True):
    """A person who joined a campaign; ``agreement`` is filled in by consolidation."""

    __tablename__ = "campaign_labellers"

    campaign_id: int = Field(foreign_key="campaigns.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    answers: int = 0
    agreement: float | None = None
    gold_answers: int = 0
    gold_correct: int = 0
    joined_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class CampaignTask(SQLModel, table=True):
    """One page of work handed to one labeller: its images are reserved until it expires."""

    __tablename__ = "campaign_tasks"
    __table_args__ = (Index("ix_campaign_tasks_campaign_status", "campaign_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    campaign_id: int = Field(foreign_key="campaigns.id")
    labeller_id: int = Field(foreign_key="users.id", index=True)
    label: str = Field(default="", max_length=64)  # the question's label ("" for boxes)
    status: str = Field(default=TASK_OPEN, max_length=10)  # open | submitted
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    submitted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class CampaignTaskItem(SQLModel, table=True):
    __tablename__ = "campaign_task_items"

    task_id: int = Field(foreign_key="campaign_tasks.id", primary_key=True)
    image_id: int = Field(foreign_key="images.id", primary_key=True, index=True)
    position: int = 0
    is_gold: bool = False  # never sent to the page


class CampaignAnswer(SQLModel, table=True):
    """One labeller's answer for one image (and, for tags, one label). Never overwritten."""

    __tablename__ = "campaign_answers"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id",
            "image_id",
            "label",
            "labeller_id",
            name="uq_campaign_answers_campaign_image_label_labeller",
        ),
        Index("ix_campaign_answers_campaign_image", "campaign_id", "image_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    image_id: int = Field(foreign_key="images.id")
    labeller_id: int = Field(foreign_key="users.id", index=True)
    task_id: int = Field(foreign_key="campaign_tasks.id", index=True)
    label: str = Field(default="", max_length=64)  # "" for a boxes answer
    present: bool | None = None  # tags: does the image show the label?
    boxes: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class CampaignResult(SQLModel, table=True):
    """The consolidated answer for one image (and label), with its provenance."""

    __tablename__ = "campaign_results"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "image_id", "label", name="uq_campaign_results_campaign_image_label"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", index=True)
    image_id: int = Field(foreign_key="images.id", index=True)
    label: str = Field(default="", max_length=64)
    present: bool | None = None
    probability: float | None = None  # Dawid-Skene posterior of "present"
    boxes: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    method: str = Field(max_length=16)  # dawid_skene | majority | box_fusion
    agreement: float
    answers: int
    needs_review: bool = False
    revision: int | None = None  # the image's annotation revision that applied it
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
