"""The job queue (rows, no extra service) and the detector's model-version registry.

A ``Job`` is claimed by a worker with a lease (``lease_expires_at``); while it works it
heartbeats, pushing the lease forward. A job whose lease expired (the worker died) is claimable
again. A failed attempt with attempts left goes back to "queued" with ``run_after`` in the
future (exponential backoff); the last failed attempt makes it "dead" with its last error.

A ``ModelVersion`` is one trained detector: its training-set sizes, its AP / AP50 / AP75 on the
held-out split (pycocotools), the object-store key of its weights and whether it is active. The
``decision`` sentence says why it was or was not activated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, new_uuid, utcnow

JOB_KINDS = ("autolabel", "train", "baseline_train")
JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_SUCCEEDED = "succeeded"
JOB_DEAD = "dead"
JOB_CANCELLED = "cancelled"
JOB_STATUSES = (JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_DEAD, JOB_CANCELLED)

SCOPE_GLOBAL = "global"
SCOPE_PRODUCER = "producer"
SCOPE_PROJECT = "project"
SCOPES = (SCOPE_GLOBAL, SCOPE_PRODUCER, SCOPE_PROJECT)


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_priority", "status", "priority", "run_after"),
        Index("ix_jobs_created_by_created", "created_by_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    kind: str = Field(max_length=20)  # autolabel | train | baseline_train
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JOB_QUEUED, max_length=12)
    priority: int = 0  # higher first
    attempts: int = 0  # attempts started (a released job does not count)
    max_attempts: int = 3
    run_after: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    worker_id: str | None = Field(default=None, max_length=80)
    progress: float = 0.0  # 0..1
    progress_message: str = Field(default="", max_length=200)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=2000)  # the last error
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_scope_owner", "scope", "owner_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_uuid, unique=True, index=True, max_length=36)
    scope: str = Field(default=SCOPE_GLOBAL, max_length=10)  # global | producer | project
    owner_id: int | None = Field(default=None, foreign_key="users.id")
    project_id: int | None = Field(default=None, foreign_key="projects.id")
    version: int  # 1, 2, ... per (scope, owner, project)
    arch: str = Field(max_length=40)
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    train_images: int = 0
    train_boxes: int = 0
    heldout_images: int = 0
    ap: float | None = None
    ap50: float | None = None
    ap75: float | None = None
    compared_with_id: int | None = Field(default=None, foreign_key="model_versions.id")
    active: bool = False
    decision: str = Field(default="", max_length=400)
    object_key: str = Field(default="", max_length=200)  # weights in the object store
    # held-out image public ids and training details (split rule, epochs, seconds)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    job_id: int | None = Field(default=None, foreign_key="jobs.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
