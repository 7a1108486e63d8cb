"""The model registry, job requests, training data, the gate and suggestions (no torch needed)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from labelhub_app.errors import Forbidden, InvalidInput, NotFound
from labelhub_app.models import AnnotationRevision, Box, Job, Operation
from labelhub_app.services import annotations as ann
from labelhub_app.services import detectors, jobs
from tests.factories import make_image, make_user


def _admin(session):
    admin = make_user(session, "producer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    return admin


def _version(
    session,
    *,
    ap50=0.9,
    ap=0.6,
    scope="global",
    owner_id=None,
    baseline=None,
    job_id=None,
    base_metrics=None,
):
    return detectors.register_version(
        session,
        job_id=job_id,
        scope=scope,
        owner_id=owner_id,
        project_id=None,
        arch="small",
        labels=["circle", "square"],
        train_images=40,
        train_boxes=60,
        heldout_ids=[f"img-{i}" for i in range(10)],
        metrics={"ap": ap, "ap50": ap50, "ap75": ap},
        object_key="models/global/x.pt",
        baseline=baseline,
        baseline_metrics=base_metrics,
    )


def _box(label, x, y, w=40, h=40, box_id=None):
    return {"id": box_id or f"{label}-{x}-{y}", "label": label, "x": x, "y": y, "w": w, "h": h}


def test_first_version_is_activated_only_above_the_floor(session):
    weak = _version(session, ap50=0.1)
    assert not weak.active and "below" in weak.decision
    good = _version(session, ap50=0.85)
    assert good.active and good.version == 2
    assert good.decision.startswith("Activated: first model")
    assert detectors.active_version(session).id == good.id


def test_the_gate_refuses_a_worse_model_and_says_why(session):
    v1 = _version(session, ap50=0.84)
    worse = _version(session, ap50=0.7, baseline=v1, base_metrics={"ap50": 0.84, "ap": 0.5})
    assert not worse.active
    assert worse.decision.startswith("Not activated: AP50 0.70")
    assert "v1's 0.84 (AP 0.50) on the same 10 held-out images; v1 stays active" in worse.decision
    assert detectors.active_version(session).id == v1.id
    better = _version(session, ap50=0.91, baseline=v1, base_metrics={"ap50": 0.84, "ap": 0.5})
    assert better.active and better.compared_with_id == v1.id
    assert better.decision == (
        "Activated: AP50 0.91 beats v1's 0.84 on the same 10 held-out images."
    )
    session.refresh(v1)
    assert not v1.active
    views = detectors.list_versions(session, viewer=make_user(session, "consumer"))
    assert [(v.version, v.active, v.compared_with_version) for v in views] == [
        (1, False, None),
        (2, False, 1),
        (3, True, 1),
    ]
    assert "heldout_ids" not in views[0].details and not views[0].downloadable


def test_register_version_is_idempotent_per_job(session):
    job = jobs.enqueue(session, kind="train", payload={})
    first = _version(session, job_id=job.id)
    again = _version(session, job_id=job.id, ap50=0.99)
    assert again.id == first.id
    assert session.exec(select(func.count()).select_from(detectors.ModelVersion)).one() == 1


def test_heldout_split_is_fixed_per_image():
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(1000)]
    held = [i for i in ids if detectors.is_heldout(i, 20)]
    assert 150 < len(held) < 250
    assert held == [i for i in ids if detectors.is_heldout(i, 20)]


def test_training_examples_use_human_boxes_only(session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=image.revision,
        edits=[ann.BoxEdit("create", _box("circle", 10, 10))],
    )
    detectors.write_suggestions(
        session,
        job_public_id="job-1",
        image_id=image.public_id,
        model_version="v-1",
        detections=[{"label": "square", "x": 100, "y": 100, "w": 50, "h": 50, "score": 0.9}],
    )
    [example] = detectors.training_examples(session)
    assert example.image_id == image.public_id
    assert example.boxes == [("circle", 10.0, 10.0, 40.0, 40.0)]
    assert detectors.training_examples(session, scope="producer", owner_id=producer.id)
    assert not detectors.training_examples(session, scope="producer", owner_id=producer.id + 99)


def test_suggestions_land_once_and_never_touch_human_boxes(session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=image.revision,
        edits=[ann.BoxEdit("create", _box("circle", 10, 10, box_id="mine"))],
    )
    detections = [
        {"label": "circle", "x": 11, "y": 10, "w": 40, "h": 40, "score": 0.95},  # = human box
        {"label": "square", "x": 100, "y": 100, "w": 50, "h": 50, "score": 0.8},
        {"label": "square", "x": 200, "y": 20, "w": 60, "h": 60, "score": 0.7},
    ]
    n = detectors.write_suggestions(
        session,
        job_public_id="job-1",
        image_id=image.public_id,
        model_version="mv-1",
        detections=detections,
    )
    assert n == 2
    # the same job again (a worker crashed after writing): nothing new
    assert (
        detectors.write_suggestions(
            session,
            job_public_id="job-1",
            image_id=image.public_id,
            model_version="mv-1",
            detections=detections,
        )
        is None
    )
    # another job with the same detections: they overlap the pending ones, nothing new either
    assert (
        detectors.write_suggestions(
            session,
            job_public_id="job-2",
            image_id=image.public_id,
            model_version="mv-1",
            detections=detections,
        )
        == 0
    )
    boxes = ann.current_boxes(session, image.id)
    assert [(b["id"], b["source"]) for b in boxes if b["source"] == "human"] == [("mine", "human")]
    model = [b for b in boxes if b["source"] == "model"]
    assert sorted(b["score"] for b in model) == [0.7, 0.8]
    stamped = session.exec(select(Box.model_version).where(Box.source == "model")).all()
    assert set(stamped) == {"mv-1"}
    revision = session.exec(
        select(AnnotationRevision).where(AnnotationRevision.kind == "suggest")
    ).one()
    assert revision.author_id == detectors.detector_account(session).id
    assert revision.summary == "2 added"
    # suggestions are logged, but by the detector, and do not count as corrections
    assert (
        session.exec(
            select(func.count())
            .select_from(Operation)
            .where(Operation.user_id == revision.author_id)
        ).one()
        == 2
    )


def test_corrections_schedule_training(session, monkeypatch):
    monkeypatch.setenv("LABELHUB_RETRAIN_AFTER_CORRECTIONS", "3")
    from labelhub_app.config import reset_settings

    reset_settings()
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    assert detectors.corrections_since_training(session) == 0
    assert detectors.maybe_schedule_training(session) is None
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=image.revision,
        edits=[ann.BoxEdit("create", _box("circle", 10 * i, 10, box_id=f"b{i}")) for i in range(3)],
    )
    assert detectors.corrections_since_training(session) == 3
    job = detectors.maybe_schedule_training(session)
    assert job is not None and job.kind == "train" and job.payload["scope"] == "global"
    assert "3 corrections" in job.payload["reason"]
    assert detectors.maybe_schedule_training(session) is None  # one is already queued
    assert detectors.corrections_since_training(session) == 0


def test_who_may_request_training(session):
    producer, consumer, admin = (
        make_user(session, "producer"),
        make_user(session, "consumer"),
        _admin(session),
    )
    with pytest.raises(Forbidden, match="Only admins train the global"):
        detectors.request_training(session, actor=producer)
    job = detectors.request_training(session, actor=admin)
    assert job.kind == "train" and job.created_by_id == admin.id
    assert detectors.request_training(session, actor=admin).id == job.id  # not twice
    own = detectors.request_training(session, actor=producer, scope="producer")
    assert own.payload["owner_id"] == producer.id
    with pytest.raises(Forbidden):
        detectors.request_training(session, actor=consumer, scope="producer")


def test_autolabel_needs_an_active_model_and_editable_images(session):
    producer, other = make_user(session, "producer"), make_user(session, "producer")
    mine, theirs = make_image(session, producer), make_image(session, other)
    with pytest.raises(InvalidInput, match="No detector is active"):
        detectors.request_autolabel(session, actor=producer, image_ids=[mine.public_id])
    version = _version(session)
    job = detectors.request_autolabel(
        session, actor=producer, image_ids=[mine.public_id, theirs.public_id]
    )
    assert job.payload == {"image_ids": [mine.public_id], "model_version": version.public_id}
    with pytest.raises(Forbidden):
        detectors.request_autolabel(session, actor=producer, image_ids=[theirs.public_id])


def test_an_upload_queues_one_autolabel_job_when_a_model_is_active(session):
    producer = make_user(session, "producer")
    make_image(session, producer)
    assert session.exec(select(func.count()).select_from(Job)).one() == 0  # no model yet
    version = _version(session)
    image = make_image(session, producer)
    job = session.exec(select(Job)).one()
    assert job.kind == "autolabel" and job.created_by_id == producer.id
    assert job.payload == {"image_ids": [image.public_id], "model_version": version.public_id}


def test_a_producers_own_model_comes_first(session):
    producer = make_user(session, "producer")
    _version(session)
    own = _version(session, scope="producer", owner_id=producer.id)
    assert detectors.model_for(session, producer).id == own.id
    assert detectors.model_for(session, make_user(session, "producer")).scope == "global"


def test_weights_download_rules(session):
    producer, admin = make_user(session, "producer"), _admin(session)
    glob = _version(session)
    own = _version(session, scope="producer", owner_id=producer.id)
    with pytest.raises(Forbidden):
        detectors.weights_for_download(session, actor=producer, version_id=glob.public_id)
    key, name = detectors.weights_for_download(session, actor=admin, version_id=glob.public_id)
    assert key == glob.object_key and name == "labelhub-detector-global-v1.pt"
    metrics = detectors.metrics_for_download(session, actor=producer, version_id=own.public_id)
    assert metrics["ap50"] == 0.9 and len(metrics["heldout_image_ids"]) == 10
    with pytest.raises(NotFound):
        detectors.weights_for_download(session, actor=admin, version_id="nope")


def test_baseline_training_needs_enough_bought_labelled_images(session):
    from tests.factories import make_project

    consumer = make_user(session, "consumer")
    project = make_project(session, consumer)
    with pytest.raises(InvalidInput, match="baseline training needs"):
        detectors.request_baseline_training(session, actor=consumer, project_id=project.public_id)
    with pytest.raises(NotFound):
        detectors.request_baseline_training(
            session, actor=make_user(session, "consumer"), project_id=project.public_id
        )
