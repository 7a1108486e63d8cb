"""The worker process: a SIGKILL mid-job (lease expires, job re-run, no duplicate suggestions),
SIGTERM (finishes its batch, releases the job, exits 0), and cancel.

The model is an untrained small detector: with the score threshold at 0 it still makes boxes,
which is all these tests need (learning is tested in test_training.py).
"""

from __future__ import annotations

import signal

import pytest
from sqlmodel import col, func, select

torch = pytest.importorskip("torch")
# Worker processes import torch and load a model: slow on a shared machine, not a hang.
pytestmark = pytest.mark.timeout(900)

from inference_worker import synthetic  # noqa: E402
from inference_worker.detector import Detector  # noqa: E402
from labelhub_app.adapters.storage import get_store  # noqa: E402
from labelhub_app.models import AnnotationRevision, Box, Job, utcnow  # noqa: E402
from labelhub_app.services import detectors, images, jobs  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.worker.conftest import set_env, start_worker, wait_for  # noqa: E402

ENV = {
    "LABELHUB_SUGGESTION_MIN_SCORE": "0.0",
    "LABELHUB_WORKER_BATCH_SIZE": "2",
    "LABELHUB_JOB_LEASE_S": "3",
    "LABELHUB_JOB_BACKOFF_S": "0",
    "LABELHUB_WORKER_IDLE_MAX_S": "0.5",
}


@pytest.fixture
def setup(session, monkeypatch):  # type: ignore[no-untyped-def]
    """A producer with 6 uploaded images, an active (untrained) model and an auto-label job."""
    set_env(monkeypatch, **ENV)
    producer = make_user(session, "producer")
    files = [
        images.UploadedFile(f"shapes-{i}.png", synthetic.make_sample(100 + i, size=96).png())
        for i in range(6)
    ]
    results = images.ingest_images(
        session, actor=producer, files=files, price_cents=100, licence="standard"
    )
    assert all(r.ok for r in results)
    torch.manual_seed(0)
    detector = Detector.new("small", ["circle", "square"], image_size=96)
    get_store().put_bytes("models/global/untrained.pt", detector.to_bytes())
    detectors.register_version(
        session,
        job_id=None,
        scope="global",
        owner_id=None,
        project_id=None,
        arch="small",
        labels=["circle", "square"],
        train_images=0,
        train_boxes=0,
        heldout_ids=[],
        metrics={"ap": 1.0, "ap50": 1.0, "ap75": 1.0},
        object_key="models/global/untrained.pt",
    )
    job = detectors.request_autolabel(
        session, actor=producer, image_ids=[r.image_id for r in results]
    )
    return producer, [r.image_id for r in results], job


def _suggest_revisions(session, job) -> list[AnnotationRevision]:
    session.expire_all()
    return session.exec(
        select(AnnotationRevision).where(
            col(AnnotationRevision.save_key).startswith(f"al:{job.public_id}:")
        )
    ).all()


def _job(session, job) -> Job:
    session.expire_all()
    return session.get(Job, job.id)


def test_a_killed_worker_s_job_is_rerun_without_duplicate_suggestions(
    session, setup, worker_env, tmp_path
):
    _, _, job = setup
    env = worker_env(**ENV)
    first = start_worker(env, "--batch-pause", "30", log=tmp_path / "w1.log")
    try:
        wait_for(lambda: len(_suggest_revisions(session, job)) >= 2, timeout=180)
        first.send_signal(signal.SIGKILL)  # mid-job: its first batch (2 of 6 images) written
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(_suggest_revisions(session, job)) == 2
    assert _job(session, job).status == "running"  # nobody knows yet that its worker is gone
    wait_for(lambda: _job(session, job).lease_expires_at < utcnow(), timeout=30)

    second = start_worker(env, "--exit-when-idle", log=tmp_path / "w2.log")
    try:
        code = second.wait(timeout=240)
    finally:
        if second.poll() is None:
            second.kill()
    assert code == 0, (tmp_path / "w2.log").read_text()[-3000:]
    row = _job(session, job)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert row.result["already_done"] == 2  # the first batch was not written twice
    revisions = _suggest_revisions(session, job)
    per_image = sorted(r.image_id for r in revisions)
    assert len(per_image) == len(set(per_image)) == 6  # one revision per image, no duplicates
    boxes = session.exec(select(func.count()).select_from(Box).where(Box.source == "model")).one()
    assert boxes == sum(len(r.changes) for r in revisions) > 0
    log = (tmp_path / "w2.log").read_text()
    assert "claimed, attempt 2 of 3" in log


def test_sigterm_finishes_the_batch_releases_the_job_and_exits_0(
    session, setup, worker_env, tmp_path
):
    _, _, job = setup
    env = worker_env(**ENV)
    proc = start_worker(env, "--batch-pause", "30", log=tmp_path / "w.log")
    try:
        wait_for(lambda: len(_suggest_revisions(session, job)) >= 1, timeout=180)
        proc.send_signal(signal.SIGTERM)  # during its first batch or the pause after it
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "w.log").read_text()
    assert code == 0, log[-3000:]
    assert "SIGTERM received" in log and "released" in log
    row = _job(session, job)
    assert (row.status, row.attempts, row.worker_id) == ("queued", 0, None)
    assert len(_suggest_revisions(session, job)) == 2  # the batch it was on was finished

    # a fresh worker takes it at once (no lease to wait for) and finishes the rest
    done = start_worker(env, "--exit-when-idle", log=tmp_path / "w2.log")
    assert done.wait(timeout=240) == 0, (tmp_path / "w2.log").read_text()[-3000:]
    row = _job(session, job)
    assert row.status == "succeeded" and row.attempts == 1
    assert len({r.image_id for r in _suggest_revisions(session, job)}) == 6


def test_a_cancelled_job_stops_its_worker_at_the_next_batch(session, setup, worker_env, tmp_path):
    producer, _, job = setup
    env = worker_env(**ENV)
    proc = start_worker(env, "--batch-pause", "2", log=tmp_path / "w.log")
    try:
        wait_for(lambda: len(_suggest_revisions(session, job)) >= 1, timeout=180)
        jobs.cancel_job(session, actor=producer, job_id=job.public_id)
        wait_for(lambda: "stopped: cancelled" in (tmp_path / "w.log").read_text(), timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    row = _job(session, job)
    assert row.status == "cancelled"
    assert len(_suggest_revisions(session, job)) < 6
