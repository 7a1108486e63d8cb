"""The job queue in one process: claim order, leases, heartbeats, retries, dead letters, cancel.

Several worker processes claiming at once are in tests/worker/test_queue_processes.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import Job, utcnow
from labelhub_app.services import jobs
from tests.factories import make_user


def _expire_lease(session, job_id: int) -> None:
    job = session.get(Job, job_id)
    job.lease_expires_at = utcnow() - timedelta(seconds=1)
    session.add(job)
    session.commit()


def test_enqueue_and_claim_by_priority_then_age(session):
    low = jobs.enqueue(session, kind="autolabel", payload={"n": 1})
    high = jobs.enqueue(session, kind="train", payload={"n": 2}, priority=5)
    later = jobs.enqueue(session, kind="autolabel", payload={"n": 3})
    first = jobs.claim_next(session, worker_id="w1")
    assert first.id == high.id and first.status == "running" and first.attempts == 1
    assert first.worker_id == "w1" and first.lease_expires_at > utcnow()
    assert jobs.claim_next(session, worker_id="w2").id == low.id
    assert jobs.claim_next(session, worker_id="w2").id == later.id
    assert jobs.claim_next(session, worker_id="w3") is None


def test_claim_only_given_kinds_and_due_jobs(session):
    jobs.enqueue(session, kind="train", payload={})
    jobs.enqueue(session, kind="autolabel", payload={}, run_after=utcnow() + timedelta(seconds=60))
    assert jobs.claim_next(session, worker_id="w", kinds=["autolabel"]) is None
    assert jobs.claim_next(session, worker_id="w", kinds=["train"]).kind == "train"


def test_unknown_kind_is_refused(session):
    with pytest.raises(InvalidInput, match="Unknown job kind"):
        jobs.enqueue(session, kind="mine-bitcoin", payload={})


def test_heartbeat_renews_the_lease_and_records_progress(session):
    job = jobs.enqueue(session, kind="autolabel", payload={})
    claimed = jobs.claim_next(session, worker_id="w1", lease_s=5)
    before = claimed.lease_expires_at
    assert jobs.heartbeat(
        session, job_id=job.id, worker_id="w1", progress=0.5, message="half", lease_s=600
    )
    session.expire_all()
    row = session.get(Job, job.id)
    assert row.progress == 0.5 and row.progress_message == "half"
    assert row.lease_expires_at > before + timedelta(seconds=500)
    # another worker's heartbeat is refused
    assert not jobs.heartbeat(session, job_id=job.id, worker_id="w2")


def test_expired_lease_is_claimed_again_and_the_old_worker_loses_it(session):
    job = jobs.enqueue(session, kind="autolabel", payload={})
    jobs.claim_next(session, worker_id="dead-worker")
    assert jobs.claim_next(session, worker_id="w2") is None  # still leased
    _expire_lease(session, job.id)
    again = jobs.claim_next(session, worker_id="w2")
    assert again.id == job.id and again.attempts == 2 and again.worker_id == "w2"
    assert "stopped answering" in again.error
    assert not jobs.heartbeat(session, job_id=job.id, worker_id="dead-worker")
    assert not jobs.complete(session, job_id=job.id, worker_id="dead-worker", result={})
    assert jobs.complete(session, job_id=job.id, worker_id="w2", result={"summary": "ok"})
    session.expire_all()
    row = session.get(Job, job.id)
    assert row.status == "succeeded" and row.result == {"summary": "ok"} and row.error is None


def test_a_lease_expiring_on_the_last_attempt_makes_the_job_dead(session):
    job = jobs.enqueue(session, kind="autolabel", payload={}, max_attempts=1)
    jobs.claim_next(session, worker_id="w1")
    _expire_lease(session, job.id)
    assert jobs.claim_next(session, worker_id="w2") is None
    session.expire_all()
    row = session.get(Job, job.id)
    assert row.status == "dead" and "stopped answering" in row.error


def test_failures_back_off_then_go_dead_with_the_last_error(session, monkeypatch):
    monkeypatch.setenv("LABELHUB_JOB_BACKOFF_S", "10")
    from labelhub_app.config import reset_settings

    reset_settings()
    job = jobs.enqueue(session, kind="train", payload={}, max_attempts=3)
    for attempt, delay in ((1, 10), (2, 20)):
        jobs.claim_next(session, worker_id="w")
        before = utcnow()
        assert jobs.fail(session, job_id=job.id, worker_id="w", error=f"boom {attempt}") == "queued"
        session.expire_all()
        row = session.get(Job, job.id)
        assert row.error == f"boom {attempt}" and row.worker_id is None
        wait = (row.run_after - before).total_seconds()
        assert delay - 1 <= wait <= delay + 1
        assert jobs.claim_next(session, worker_id="w") is None  # not due yet
        row.run_after = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    jobs.claim_next(session, worker_id="w")
    assert jobs.fail(session, job_id=job.id, worker_id="w", error="boom 3") == "dead"
    session.expire_all()
    row = session.get(Job, job.id)
    assert (row.status, row.attempts, row.error) == ("dead", 3, "boom 3")
    assert row.finished_at is not None
    assert jobs.claim_next(session, worker_id="w") is None


def test_backoff_doubles_and_is_capped():
    assert [jobs.backoff_seconds(n, base=5) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert jobs.backoff_seconds(30, base=5) == 3600


def test_permanent_failure_is_dead_at_once(session):
    job = jobs.enqueue(session, kind="train", payload={}, max_attempts=3)
    jobs.claim_next(session, worker_id="w")
    assert (
        jobs.fail(session, job_id=job.id, worker_id="w", error="no data", permanent=True) == "dead"
    )


def test_release_puts_the_job_back_without_counting_the_attempt(session):
    job = jobs.enqueue(session, kind="autolabel", payload={})
    jobs.claim_next(session, worker_id="w1")
    assert jobs.release(session, job_id=job.id, worker_id="w1")
    session.expire_all()
    row = session.get(Job, job.id)
    assert (row.status, row.attempts, row.worker_id) == ("queued", 0, None)
    assert jobs.claim_next(session, worker_id="w2").attempts == 1


def test_people_see_their_jobs_admins_see_all(session):
    alice, bob = make_user(session, "producer"), make_user(session, "producer")
    admin = make_user(session, "consumer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    a = jobs.enqueue(session, kind="autolabel", payload={}, created_by=alice)
    jobs.enqueue(session, kind="autolabel", payload={}, created_by=bob)
    jobs.enqueue(session, kind="train", payload={})  # the system's
    [view] = jobs.list_jobs(session, viewer=alice)
    assert view.public_id == a.public_id and view.created_by == alice.pseudonym
    assert view.status == "queued" and view.result_summary == ""
    assert len(jobs.list_jobs(session, viewer=admin)) == 3
    assert len(jobs.list_jobs(session, viewer=admin, kind="train")) == 1
    assert jobs.count_jobs(session, viewer=alice)["queued"] == 1
    assert jobs.count_jobs(session, viewer=admin) == {
        "queued": 3,
        "running": 0,
        "succeeded": 0,
        "dead": 0,
        "cancelled": 0,
    }
    with pytest.raises(NotFound):
        jobs.get_job(session, viewer=bob, job_id=a.public_id)
    with pytest.raises(NotAuthenticated):
        jobs.list_jobs(session, viewer=None)


def test_cancel_stops_a_running_job_and_retry_requeues_it(session):
    alice = make_user(session, "producer")
    job = jobs.enqueue(session, kind="autolabel", payload={}, created_by=alice, max_attempts=1)
    jobs.claim_next(session, worker_id="w1")
    jobs.cancel_job(session, actor=alice, job_id=job.public_id)
    assert not jobs.heartbeat(session, job_id=job.id, worker_id="w1")  # the worker stops
    assert jobs.is_cancelled(session, job_id=job.id)
    assert not jobs.complete(session, job_id=job.id, worker_id="w1", result={})
    with pytest.raises(Conflict):
        jobs.cancel_job(session, actor=alice, job_id=job.public_id)
    retried = jobs.retry_job(session, actor=alice, job_id=job.public_id)
    assert (retried.status, retried.attempts) == ("queued", 0)
    assert jobs.claim_next(session, worker_id="w2").id == job.id
    with pytest.raises(Conflict, match="Only dead or cancelled"):
        jobs.retry_job(session, actor=alice, job_id=job.public_id)
    stranger = make_user(session, "producer")
    with pytest.raises(NotFound):
        jobs.cancel_job(session, actor=stranger, job_id=job.public_id)


def test_retry_a_dead_job(session):
    alice = make_user(session, "producer")
    job = jobs.enqueue(session, kind="train", payload={}, created_by=alice, max_attempts=1)
    jobs.claim_next(session, worker_id="w")
    jobs.fail(session, job_id=job.id, worker_id="w", error="out of memory")
    [view] = jobs.list_jobs(session, viewer=alice, status="dead")
    assert view.error == "out of memory"
    jobs.retry_job(session, actor=alice, job_id=job.public_id)
    assert session.exec(select(Job.status).where(Job.id == job.id)).one() == "queued"
