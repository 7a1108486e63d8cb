"""The job queue: rows in the ``jobs`` table, claimed by workers with a lease.

Worker side: ``claim_next`` takes the most urgent runnable job (queued and due, or running with
an expired lease: its worker died) and leases it to one worker. PostgreSQL picks it with
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite takes the database's write lock first
(``BEGIN IMMEDIATE``), so two workers never claim the same row. While working, the worker
``heartbeat``s (renewing the lease; False means "stop": the job was cancelled or its lease was
lost to another worker), then ``complete``s or ``fail``s it. A failure with attempts left goes
back to the queue after a backoff that doubles per attempt; the last one makes the job "dead",
keeping its last error. ``release`` (SIGTERM) puts a job back without counting the attempt.

People side: ``list_jobs``/``count_jobs`` (people see the jobs they started, admins every job),
``retry_job`` and ``cancel_job``.

This module must not import torch: the app and its tests run without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import User, utcnow
from labelhub_app.models.jobs import (
    JOB_CANCELLED,
    JOB_DEAD,
    JOB_KINDS,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_STATUSES,
    JOB_SUCCEEDED,
    Job,
)

MAX_ERROR_CHARS = 2000
MAX_MESSAGE_CHARS = 200


# --- enqueueing -----------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    priority: int = 0,
    created_by: User | None = None,
    max_attempts: int = 3,
    run_after: datetime | None = None,
) -> Job:
    """Add a job to the queue (and commit)."""
    if kind not in JOB_KINDS:
        raise InvalidInput(f"Unknown job kind {kind!r}; use one of {', '.join(JOB_KINDS)}.")
    if max_attempts < 1:
        raise InvalidInput("A job needs at least one attempt.")
    now = utcnow()
    job = Job(
        kind=kind,
        payload=payload,
        priority=priority,
        max_attempts=max_attempts,
        created_by_id=created_by.id if created_by else None,
        run_after=run_after or now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.commit()
    return job


# --- the worker's side ----------------------------------------------------------------------------


def _lock_for_claim(session: Session) -> None:
    """On SQLite, take the write lock now, so that the pick and the update are one step."""
    if session.get_bind().dialect.name != "sqlite":
        return
    conn = session.connection()
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:  # type: ignore[attr-defined]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def claim_next(
    session: Session,
    *,
    worker_id: str,
    kinds: list[str] | tuple[str, ...] | None = None,
    lease_s: int | None = None,
) -> Job | None:
    """Lease the most urgent runnable job to ``worker_id``; None when nothing is due.

    Runnable: queued with ``run_after`` passed, or running with an expired lease. A job whose
    lease expired on its last attempt becomes dead instead (its worker kept dying).
    """
    lease = timedelta(seconds=lease_s or get_settings().job_lease_s)
    session.commit()  # end whatever the caller had open: the claim is its own transaction
    _lock_for_claim(session)
    now = utcnow()
    expired = (col(Job.status) == JOB_RUNNING) & (col(Job.lease_expires_at) < now)
    session.execute(
        update(Job)
        .where(expired, col(Job.attempts) >= col(Job.max_attempts))
        .values(
            status=JOB_DEAD,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            error=func.coalesce(
                col(Job.error),
                "The worker running it stopped answering on every attempt "
                "(crashed or was killed); retry it when the workers are healthy.",
            ),
        )
        .execution_options(synchronize_session=False)
    )
    query = (
        select(Job)
        .where(
            or_(
                (col(Job.status) == JOB_QUEUED) & (col(Job.run_after) <= now),
                expired,
            )
        )
        .order_by(col(Job.priority).desc(), col(Job.run_after), col(Job.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if kinds:
        query = query.where(col(Job.kind).in_(list(kinds)))
    job = session.exec(query).first()
    if job is None:
        session.commit()
        return None
    if job.status == JOB_RUNNING:  # taken over from a worker whose lease ran out
        job.error = f"Worker {job.worker_id} stopped answering; the job was run again."
    job.status = JOB_RUNNING
    job.worker_id = worker_id
    job.attempts += 1
    job.lease_expires_at = now + lease
    job.started_at = now
    job.finished_at = None
    job.progress = 0.0
    job.progress_message = "Started"
    job.updated_at = now
    session.add(job)
    session.commit()
    return job


def _owned(job_id: int, worker_id: str):  # type: ignore[no-untyped-def]
    return (
        (col(Job.id) == job_id)
        & (col(Job.worker_id) == worker_id)
        & (col(Job.status) == JOB_RUNNING)
    )


def heartbeat(
    session: Session,
    *,
    job_id: int,
    worker_id: str,
    progress: float | None = None,
    message: str | None = None,
    lease_s: int | None = None,
) -> bool:
    """Renew the lease (and record progress). False: stop, the job was cancelled or taken over."""
    now = utcnow()
    values: dict[str, Any] = {
        "lease_expires_at": now + timedelta(seconds=lease_s or get_settings().job_lease_s),
        "updated_at": now,
    }
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, float(progress)))
    if message is not None:
        values["progress_message"] = message[:MAX_MESSAGE_CHARS]
    result = session.execute(
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def complete(
    session: Session, *, job_id: int, worker_id: str, result: dict[str, Any] | None = None
) -> bool:
    """Mark the job succeeded with its result. False if it was no longer this worker's."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(
            status=JOB_SUCCEEDED,
            result=result or {},
            progress=1.0,
            progress_message="Done",
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def backoff_seconds(attempts: int, base: float | None = None) -> float:
    """The delay after ``attempts`` failed attempts: base, 2x, 4x ... (at most an hour)."""
    base = get_settings().job_backoff_s if base is None else base
    return min(3600.0, base * (2 ** max(0, attempts - 1)))


def fail(
    session: Session, *, job_id: int, worker_id: str, error: str, permanent: bool = False
) -> str | None:
    """Record a failed attempt: back to the queue after a backoff, or dead after the last one.

    ``permanent``: retrying cannot help (bad input); the job goes dead at once. Returns the new
    status, or None if the job was no longer this worker's.
    """
    session.commit()
    job = session.exec(select(Job).where(_owned(job_id, worker_id))).first()
    if job is None:
        return None
    now = utcnow()
    job.error = error[:MAX_ERROR_CHARS]
    job.lease_expires_at = None
    job.updated_at = now
    if permanent or job.attempts >= job.max_attempts:
        job.status = JOB_DEAD
        job.finished_at = now
        job.progress_message = "Failed"
    else:
        job.status = JOB_QUEUED
        job.worker_id = None
        job.run_after = now + timedelta(seconds=backoff_seconds(job.attempts))
        job.progress_message = f"Attempt {job.attempts} failed; retrying"
    session.add(job)
    session.commit()
    return job.status


def release(session: Session, *, job_id: int, worker_id: str) -> bool:
    """Give the job back to the queue without counting the attempt (the worker is stopping)."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(
            status=JOB_QUEUED,
            worker_id=None,
            lease_expires_at=None,
            attempts=col(Job.attempts) - 1,
            run_after=now,
            progress_message="Released by a stopping worker; waiting for another",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def is_cancelled(session: Session, *, job_id: int) -> bool:
    status = session.exec(select(Job.status).where(Job.id == job_id)).first()
    return status == JOB_CANCELLED


# --- the people's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    """What a person may see about a job (its creator only as a pseudonym)."""

    public_id: str
    kind: str
    status: str
    priority: int
    attempts: int
    max_attempts: int
    progress: float
    progress_message: str
    error: str | None
    result_summary: str
    created_by: str  # pseudonym; "" for jobs the system started
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


KIND_TITLES = {
    "autolabel": "Auto-label",
    "train": "Train detector",
    "baseline_train": "Baseline training",
}


def result_summary(job: Job) -> str:
    """One line about a job's result, for lists."""
    result = job.result or {}
    if isinstance(result.get("summary"), str):
        return result["summary"]
    if job.status == JOB_SUCCEEDED:
        return "Done"
    return ""


def _view(job: Job, pseudonym: str | None) -> JobView:
    return JobView(
        job.public_id,
        job.kind,
        job.status,
        job.priority,
        job.attempts,
        job.max_attempts,
        job.progress,
        job.progress_message,
        job.error,
        result_summary(job),
        pseudonym or "",
        job.created_at,
        job.started_at,
        job.finished_at,
    )


def _require_viewer(viewer: User | None) -> User:
    if viewer is None:
        raise NotAuthenticated("Sign in to see your jobs.")
    return viewer


def list_jobs(
    session: Session,
    *,
    viewer: User | None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobView]:
    """Newest first. People see the jobs they started; admins see every job."""
    viewer = _require_viewer(viewer)
    if status is not None and status not in JOB_STATUSES:
        raise InvalidInput(f"Unknown job status {status!r}.")
    query = select(Job, User.pseudonym).outerjoin(User, col(User.id) == Job.created_by_id)
    if not viewer.is_admin:
        query = query.where(Job.created_by_id == viewer.id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    rows = session.exec(
        query.order_by(col(Job.created_at).desc(), col(Job.id).desc())
        .offset(max(0, offset))
        .limit(max(1, min(limit, 200)))
    ).all()
    return [_view(job, name) for job, name in rows]


def count_jobs(session: Session, *, viewer: User | None) -> dict[str, int]:
    """How many jobs (the viewer may see) are in each status; every status is a key."""
    viewer = _require_viewer(viewer)
    query = select(Job.status, func.count()).group_by(Job.status)
    if not viewer.is_admin:
        query = query.where(Job.created_by_id == viewer.id)
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status, n in session.exec(query).all():
        counts[status] = int(n)
    return counts


def get_job(session: Session, *, viewer: User | None, job_id: str) -> JobView:
    viewer = _require_viewer(viewer)
    job = _visible_job(session, viewer, job_id)
    name = (
        session.exec(select(User.pseudonym).where(User.id == job.created_by_id)).first()
        if job.created_by_id
        else None
    )
    return _view(job, name)


def _visible_job(session: Session, actor: User, job_id: str) -> Job:
    job = session.exec(select(Job).where(Job.public_id == job_id)).first()
    if job is None or (not actor.is_admin and job.created_by_id != actor.id):
        raise NotFound("This job does not exist or is not yours.")
    return job


def retry_job(session: Session, *, actor: User | None, job_id: str) -> Job:
    """Put a dead or cancelled job back in the queue with fresh attempts."""
    actor = _require_viewer(actor)
    job = _visible_job(session, actor, job_id)
    if job.status not in (JOB_DEAD, JOB_CANCELLED):
        raise Conflict(f"Only dead or cancelled jobs can be retried; this one is {job.status}.")
    now = utcnow()
    job.status = JOB_QUEUED
    job.attempts = 0
    job.run_after = now
    job.worker_id = None
    job.lease_expires_at = None
    job.finished_at = None
    job.progress = 0.0
    job.progress_message = f"Retried by {actor.pseudonym}"
    job.updated_at = now
    session.add(job)
    session.commit()
    return job


def cancel_job(session: Session, *, actor: User | None, job_id: str) -> Job:
    """Cancel a queued or running job; a running one stops at its worker's next heartbeat."""
    actor = _require_viewer(actor)
    job = _visible_job(session, actor, job_id)
    if job.status not in (JOB_QUEUED, JOB_RUNNING):
        raise Conflict(f"This job is already {job.status}; there is nothing to cancel.")
    if job.created_by_id != actor.id and not actor.is_admin:
        raise Forbidden("Only the person who started a job, or an admin, can cancel it.")
    now = utcnow()
    job.status = JOB_CANCELLED
    job.finished_at = now
    job.lease_expires_at = None
    job.progress_message = f"Cancelled by {actor.pseudonym}"
    job.updated_at = now
    session.add(job)
    session.commit()
    return job


def pending_job(session: Session, *, kind: str, match: dict[str, Any]) -> Job | None:
    """A queued or running job of ``kind`` whose payload has these keys and values, if any."""
    for job in session.exec(
        select(Job).where(Job.kind == kind, col(Job.status).in_([JOB_QUEUED, JOB_RUNNING]))
    ):
        if all(job.payload.get(k) == v for k, v in match.items()):
            return job
    return None
