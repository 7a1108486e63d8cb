"""The Jobs page (/jobs) and the Models page (/models) as people use them.

Jobs and model versions are made with the #6 core services, as the worker makes them: a job
enqueued, claimed by a worker id, its progress reported by heartbeats, completed or failed;
versions registered through the activation gate (services/detectors.register_version). The
browser app runs no worker, so nothing else touches these jobs.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelhub_app.db import session_scope
from labelhub_app.models import User
from labelhub_app.models.jobs import Job
from labelhub_app.services import detectors, jobs
from tests.browser.flows import nav, open_page, sign_in
from tests.browser.test_editor_flow import Person, _make_images, _person

pytestmark = pytest.mark.browser

Services = Callable[[], AbstractContextManager[None]]
URGENT = itertools.count(10_000)  # each new job of ours is claimed before any other


def _claimed_job(
    services: Services, person: Person, kind: str = "autolabel", **kw
) -> tuple[int, str]:
    """A job of ``person``'s, claimed by worker "w-test" (it is running): (row id, public id)."""
    with services(), session_scope() as session:
        user = session.get(User, person.user_id)
        job = jobs.enqueue(
            session,
            kind=kind,
            payload={"image_ids": []},
            priority=next(URGENT),
            created_by=user,
            **kw,
        )
        claimed = jobs.claim_next(session, worker_id="w-test", lease_s=600)
        assert claimed is not None and claimed.id == job.id
        return int(job.id or 0), job.public_id


def _heartbeat(services: Services, job_id: int, progress: float, message: str) -> None:
    with services(), session_scope() as session:
        assert jobs.heartbeat(
            session,
            job_id=job_id,
            worker_id="w-test",
            progress=progress,
            message=message,
            lease_s=600,
        )


def _status(services: Services, public_id: str) -> tuple[str, int, str | None]:
    with services(), session_scope() as session:
        job = session.exec(select(Job).where(Job.public_id == public_id)).one()
        return job.status, job.attempts, job.error


def _tab(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#job-status-filter").get_by_role("radio", name=name, exact=True)


def _card(page: Page, public_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#job-{public_id}")


def test_jobs_page_shows_progress_live_and_the_result(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    producer = _person(app_services, "producer", name="jo")
    sign_in(page, email=producer.email)
    open_page(page, "/jobs")
    expect(page.get_by_text("No jobs yet")).to_be_visible()
    shot(page, "jobs-empty")

    job_id, public_id = _claimed_job(app_services, producer)
    _heartbeat(app_services, job_id, 0.4, "12 of 30 images")
    nav(page, "Jobs")
    card = _card(page, public_id)
    expect(card.locator(".job-status")).to_have_text("Running")
    expect(card).to_contain_text("40 %")
    expect(card.locator(".job-message")).to_have_text("12 of 30 images")
    expect(page.locator("#jobs-live")).to_be_visible()
    shot(page, "jobs-running")

    # the page follows the worker by itself
    _heartbeat(app_services, job_id, 0.8, "24 of 30 images")
    expect(card).to_contain_text("80 %")
    expect(card.locator(".job-message")).to_have_text("24 of 30 images")
    with app_services(), session_scope() as session:
        assert jobs.complete(
            session,
            job_id=job_id,
            worker_id="w-test",
            result={"summary": "57 suggestions on 30 images"},
        )
    expect(card.locator(".job-status")).to_have_text("Succeeded")
    expect(card.locator(".job-result")).to_contain_text("57 suggestions on 30 images")
    expect(page.locator("#jobs-live")).to_have_count(0)  # nothing left to wait for: polling stopped
    shot(page, "jobs-succeeded")


def test_dead_job_shows_its_error_and_retry_queues_it_again(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    producer = _person(app_services, "producer", name="dee")
    job_id, public_id = _claimed_job(app_services, producer, kind="train", max_attempts=2)
    error = "RuntimeError: the weights file models/v3.pt is not in the object store"
    with app_services(), session_scope() as session:
        assert (
            jobs.fail(session, job_id=job_id, worker_id="w-test", error=error, permanent=True)
            == "dead"
        )
    _, other = _claimed_job(app_services, producer)  # a running one, to filter away

    sign_in(page, email=producer.email)
    open_page(page, "/jobs")
    expect(page.locator(".job-row")).to_have_count(2)
    _tab(page, "Failed 1").click()
    expect(page.locator(".job-row")).to_have_count(1)
    card = _card(page, public_id)
    expect(card.locator(".job-status")).to_have_text("Failed")
    expect(card.locator(".job-error")).to_contain_text(error)
    expect(card).to_contain_text("attempt 1 of 2")
    shot(page, "jobs-dead")

    card.locator(".job-retry").click()
    expect(page.get_by_text("Queued again:")).to_be_visible()
    assert _status(app_services, public_id)[:2] == ("queued", 0)
    expect(page.get_by_text("No jobs with this status")).to_be_visible()  # still filtered on Failed
    _tab(page, "Queued 1").click()
    expect(_card(page, public_id).locator(".job-status")).to_have_text("Queued")

    # and a running one can be cancelled
    _tab(page, "Running 1").click()
    _card(page, other).locator(".job-cancel").click()
    expect(page.get_by_text("Cancelled:")).to_be_visible()
    assert _status(app_services, other)[0] == "cancelled"


def test_people_see_only_their_own_jobs_admins_everyone(  # type: ignore[no-untyped-def]
    page: Page, app_services: Services
) -> None:
    mine = _person(app_services, "producer", name="mia")
    theirs = _person(app_services, "producer", name="tom")
    _, my_job = _claimed_job(app_services, mine)
    _, their_job = _claimed_job(app_services, theirs)
    sign_in(page, email=mine.email)
    open_page(page, "/jobs")
    expect(_card(page, my_job)).to_be_visible()
    expect(_card(page, their_job)).to_have_count(0)

    admin = _person(app_services, "producer", name="ada")
    with app_services(), session_scope() as session:
        user = session.get(User, admin.user_id)
        user.is_admin = True
        session.add(user)
        session.commit()
    sign_in(page, email=admin.email)
    open_page(page, "/jobs")
    expect(page.get_by_text("Everyone's auto-labelling and training jobs")).to_be_visible()
    expect(_card(page, my_job)).to_be_visible()
    expect(_card(page, their_job)).to_be_visible()


def _register(services: Services) -> tuple[str, str]:
    """Two global versions: v(n) activated, v(n+1) refused by the gate. Returns their decisions."""
    with services(), session_scope() as session:
        base = {
            "job_id": None,
            "scope": "global",
            "owner_id": None,
            "project_id": None,
            "arch": "fasterrcnn_tiny",
            "labels": ["circle", "square", "triangle"],
            "object_key": "",
        }
        good = detectors.register_version(
            session,
            **base,
            train_images=80,
            train_boxes=240,
            heldout_ids=[f"h{i}" for i in range(20)],
            metrics={"ap": 0.71, "ap50": 0.93, "ap75": 0.8},
            baseline=detectors.active_version(session),
            baseline_metrics={"ap": 0.0, "ap50": 0.0, "ap75": 0.0},
        )
        worse = detectors.register_version(
            session,
            **base,
            train_images=90,
            train_boxes=250,
            heldout_ids=[f"h{i}" for i in range(20)],
            metrics={"ap": 0.52, "ap50": 0.81, "ap75": 0.55},
            baseline=good,
            baseline_metrics={"ap": 0.71, "ap50": 0.93, "ap75": 0.8},
        )
        assert good.active and not worse.active
        return f"v{good.version}", worse.decision


def test_models_page_shows_versions_metrics_decisions_and_trains(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    producer = _person(app_services, "producer", name="max")
    sign_in(page, email=producer.email)
    open_page(page, "/models?scope=producer")
    expect(page.get_by_text("No trained versions yet")).to_be_visible()
    shot(page, "models-empty")

    good, refused = _register(app_services)
    nav(page, "Models")
    page.locator("#model-scope").get_by_role("radio", name="Global model").click()
    rows = page.locator(".version-row")
    expect(rows.first).to_be_visible()
    active = rows.filter(has=page.locator(".active-badge"))
    expect(active).to_have_count(1)
    expect(active).to_contain_text(good)
    expect(active).to_contain_text("0.930")
    expect(active).to_contain_text("80 images · 240 boxes")
    expect(page.locator(".version-decision").first).to_have_text(refused)
    assert refused.startswith("Not activated")
    expect(page.locator("#ap-chart .recharts-line")).to_have_count(3)
    expect(page.locator("#train-now")).to_have_count(0)  # the global model is the admins' to train
    shot(page, "models-global")

    # a producer trains their own model: the job shows on the Jobs page
    page.locator("#model-scope").get_by_role("radio", name="My model").click()
    page.locator("#train-now").click()
    expect(page.locator("#train-notice")).to_contain_text("Training is queued")
    page.locator("#train-notice").get_by_role("link", name="Open Jobs").click()
    card = page.locator(".job-row").first
    expect(card).to_contain_text("Train detector")
    expect(card.locator(".job-status")).to_have_text("Queued")
    with app_services(), session_scope() as session:
        user = session.get(User, producer.user_id)
        [view] = jobs.list_jobs(session, viewer=user, kind="train")
        assert view.status == "queued"
        # leave it out of the other tests' way
        jobs.cancel_job(session, actor=user, job_id=view.public_id)


def _ensure_active_global(services: Services) -> None:
    with services(), session_scope() as session:
        if detectors.active_version(session) is None:
            detectors.register_version(
                session,
                job_id=None,
                scope="global",
                owner_id=None,
                project_id=None,
                arch="fasterrcnn_tiny",
                labels=["dog"],
                train_images=10,
                train_boxes=12,
                heldout_ids=["a", "b"],
                metrics={"ap": 0.5, "ap50": 0.8, "ap75": 0.5},
                object_key="",
            )


def test_dashboard_auto_labels_the_selected_images(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    _ensure_active_global(app_services)
    producer = _person(app_services, "producer", name="ali")
    image_ids = _make_images(app_services, producer, 3, ("dog",))
    sign_in(page, email=producer.email)
    open_page(page, "/dashboard")
    button = page.locator("#autolabel-selected")
    expect(button).to_be_disabled()
    picks = page.locator(".pick-image")
    expect(picks).to_have_count(3)
    picks.nth(0).click()
    picks.nth(2).click()
    expect(button).to_have_text("Auto-label selected (2)")
    shot(page, "dashboard-autolabel")
    button.click()
    expect(page.get_by_text("Auto-labelling 2 images")).to_be_visible()
    expect(button).to_have_text("Auto-label selected (0)")
    with app_services(), session_scope() as session:
        user = session.get(User, producer.user_id)
        # newest first; the upload made one too (an active model labels new uploads)
        view = jobs.list_jobs(session, viewer=user, kind="autolabel")[0]
        job = session.exec(select(Job).where(Job.public_id == view.public_id)).one()
        assert set(job.payload["image_ids"]) <= set(image_ids)
        assert len(job.payload["image_ids"]) == 2
    nav(page, "Jobs")
    card = _card(page, view.public_id)
    expect(card).to_contain_text("Auto-label")
    expect(card.locator(".job-status")).to_have_text("Queued")
    expect(card.locator(".job-message")).to_have_text("Waiting for a worker…")
    card.locator(".job-cancel").click()
    expect(card.locator(".job-status")).to_have_text("Cancelled")


def test_consumer_trains_a_baseline_on_a_bought_project(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    from labelhub_app.services import annotations as ann
    from labelhub_app.services import market
    from tests.factories import make_image, make_project, make_user

    consumer = _person(app_services, "consumer", name="cy")
    with app_services(), session_scope() as session:
        producer = make_user(session, "producer")
        buyer = session.get(User, consumer.user_id)
        project = make_project(session, buyer)
        picked: list[str] = []
        train = heldout = 0
        seed = random.randrange(1 << 30)
        while train < detectors.MIN_TRAIN_IMAGES or heldout < detectors.MIN_HELDOUT_IMAGES:
            image = make_image(session, producer, price_cents=10, seed=seed + len(picked))
            ann.save_annotations(
                session,
                actor=producer,
                image_id=image.public_id,
                base_revision=image.revision,
                edits=[
                    ann.BoxEdit(
                        "create",
                        {
                            "id": str(uuid.uuid4()),
                            "label": "dog",
                            "x": 10,
                            "y": 10,
                            "w": 50,
                            "h": 40,
                        },
                    )
                ],
            )
            picked.append(image.public_id)
            if detectors.is_heldout(image.public_id):
                heldout += 1
            else:
                train += 1
            assert len(picked) < 80
        market.add_to_project(session, actor=buyer, project_id=project.public_id, image_ids=picked)
        market.buy_images(
            session,
            buyer=buyer,
            project_id=project.public_id,
            image_ids=picked,
            idempotency_key=str(uuid.uuid4()),
        )
        project_id = project.public_id

    sign_in(page, email=consumer.email)
    open_page(page, f"/projects/{project_id}")
    page.locator("#train-baseline").click()
    expect(page.get_by_text("Baseline training is queued")).to_be_visible()
    shot(page, "project-train-baseline")

    open_page(page, f"/models?scope=project&project={project_id}")
    expect(
        page.locator("#model-scope").get_by_role("radio", name="Project baseline")
    ).to_have_attribute("aria-checked", "true")
    expect(page.get_by_text("No trained versions yet")).to_be_visible()
    nav(page, "Jobs")
    card = page.locator(".job-row").first
    expect(card).to_contain_text("Baseline training")
    expect(card.locator(".job-status")).to_have_text("Queued")
    card.locator(".job-cancel").click()
    expect(card.locator(".job-status")).to_have_text("Cancelled")


def test_models_page_downloads_weights_and_metrics(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services
) -> None:
    import json

    from labelhub_app.adapters.storage import get_store

    producer = _person(app_services, "producer", name="wes")
    weights = b"not really a torch checkpoint " + uuid.uuid4().bytes
    key = f"models/test/{uuid.uuid4()}.pt"
    with app_services(), session_scope() as session:
        get_store().put_bytes(key, weights)
        detectors.register_version(
            session,
            job_id=None,
            scope="producer",
            owner_id=producer.user_id,
            project_id=None,
            arch="fasterrcnn_tiny",
            labels=["dog"],
            train_images=12,
            train_boxes=20,
            heldout_ids=["a", "b", "c"],
            metrics={"ap": 0.61, "ap50": 0.88, "ap75": 0.7},
            object_key=key,
        )
    sign_in(page, email=producer.email)
    open_page(page, "/models?scope=producer")
    row = page.locator(".version-row").first
    expect(row.locator(".active-badge")).to_be_visible()
    shot(page, "models-own")
    with page.expect_download() as info:
        row.locator(".download-weights").click()
    download = info.value
    assert download.suggested_filename == "labelhub-detector-producer-v1.pt"
    assert Path(download.path()).read_bytes() == weights
    with page.expect_download() as info:
        row.locator(".download-metrics").click()
    metrics = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert (metrics["ap50"], metrics["train_images"], metrics["heldout_images"]) == (0.88, 12, 3)
