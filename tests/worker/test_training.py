"""Bootstrap training from human boxes on generated data, the activation gate, and suggestions
from the trained model, all through the queue and a real worker (in this process).

Generated data: coloured circles and squares on noisy 96-pixel backgrounds, uploaded like any
image, with their exact boxes saved by the producer (human boxes).
"""

from __future__ import annotations

import pytest
from sqlmodel import select

torch = pytest.importorskip("torch")

from inference_worker import synthetic  # noqa: E402
from inference_worker.worker import Worker  # noqa: E402
from labelhub_app.models import Job, ModelVersion  # noqa: E402
from labelhub_app.services import annotations as ann  # noqa: E402
from labelhub_app.services import detectors, images, jobs  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.worker.conftest import set_env  # noqa: E402

SIZE = 96
CLASSES = ("circle", "square")
DATA = {
    "size": SIZE,
    "classes": CLASSES,
    "max_objects": 2,
    "min_side": 19,
    "max_side": 32,
    "class_colours": True,
}
TRAIN_EPOCHS = "3"


def _upload_labelled(session, producer, samples, first_seed: int) -> list[str]:
    files = [images.UploadedFile(f"s{first_seed + i}.png", s.png()) for i, s in enumerate(samples)]
    results = images.ingest_images(
        session, actor=producer, files=files, price_cents=100, licence="standard"
    )
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    items = [
        ann.BatchItem(
            r.image_id,
            [
                ann.BoxEdit(
                    "create",
                    {
                        "id": f"{r.image_id[:8]}-{j}",
                        "label": b[0],
                        "x": b[1],
                        "y": b[2],
                        "w": b[3],
                        "h": b[4],
                    },
                )
                for j, b in enumerate(s.boxes)
            ],
        )
        for r, s in zip(results, samples, strict=True)
    ]
    assert all(o.ok for o in ann.save_annotations_batch(session, actor=producer, items=items))
    return [r.image_id for r in results]


def _run_worker() -> Worker:
    worker = Worker(worker_id="test-worker")
    worker.run(exit_when_idle=True)
    return worker


# Training takes about a minute on an idle 2-core machine; the limit leaves room for a shared one.
@pytest.mark.timeout(1200)
def test_bootstrap_training_gate_and_suggestions(session, monkeypatch):
    set_env(
        monkeypatch,
        LABELHUB_DETECTOR_IMAGE_SIZE=str(SIZE),
        LABELHUB_DETECTOR_TRAIN_SECONDS="900",
        LABELHUB_DETECTOR_HELDOUT_PERCENT="20",
        LABELHUB_SUGGESTION_MIN_SCORE="0.5",
        LABELHUB_RETRAIN_AFTER_CORRECTIONS="0",
    )
    torch.manual_seed(0)
    producer = make_user(session, "producer")
    admin = make_user(session, "producer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    samples = synthetic.make_dataset(150, seed=7, **DATA)
    _upload_labelled(session, producer, samples, 0)

    # 1. bootstrap: no model yet; train from the producer's human boxes
    job = jobs.enqueue(
        session,
        kind="train",
        payload={
            "scope": "global",
            "owner_id": None,
            "project_id": None,
            "max_epochs": int(TRAIN_EPOCHS),
        },
        created_by=admin,
    )
    _run_worker()
    session.expire_all()
    row = session.get(Job, job.id)
    assert row.status == "succeeded", row.error
    v1 = session.exec(select(ModelVersion)).one()
    print(  # noqa: T201 - the measured figures, shown with pytest -s
        f"bootstrap: AP {v1.ap} AP50 {v1.ap50} AP75 {v1.ap75} on {v1.heldout_images} held-out, "
        f"{v1.details['train_seconds']} s, {v1.details['epochs']} epochs"
    )
    assert v1.ap50 >= 0.8
    assert v1.active and v1.decision.startswith("Activated: first model")
    assert v1.heldout_images >= 10 and v1.train_images + v1.heldout_images == 150
    held = set(v1.details["heldout_ids"])
    assert all(detectors.is_heldout(i) for i in held)

    # 2. the gate: a barely trained model (from scratch, a few steps) is refused
    worse = jobs.enqueue(
        session,
        kind="train",
        payload={
            "scope": "global",
            "owner_id": None,
            "project_id": None,
            "max_epochs": 0.1,
            "warm_start": False,
        },
        created_by=admin,
    )
    _run_worker()
    session.expire_all()
    assert session.get(Job, worse.id).status == "succeeded"
    v2 = session.exec(select(ModelVersion).where(ModelVersion.version == 2)).one()
    assert not v2.active and v2.ap50 < v1.ap50
    assert v2.compared_with_id == v1.id
    assert set(v2.details["heldout_ids"]) == held  # the same held-out images
    assert v2.decision.startswith("Not activated") and "v1 stays active" in v2.decision
    assert detectors.active_version(session).id == v1.id

    # 3. new uploads are auto-labelled by the active model; suggestions match the shapes
    fresh = synthetic.make_dataset(8, seed=99, **DATA)
    files = [images.UploadedFile(f"new{i}.png", s.png()) for i, s in enumerate(fresh)]
    results = images.ingest_images(
        session, actor=producer, files=files, price_cents=100, licence="standard"
    )
    auto = session.exec(select(Job).where(Job.kind == "autolabel")).one()
    assert auto.payload["model_version"] == v1.public_id
    _run_worker()
    session.expire_all()
    assert session.get(Job, auto.id).status == "succeeded"
    found = total = 0
    for result, sample in zip(results, fresh, strict=True):
        image = images.get_image(session, result.image_id)
        boxes = [b for b in ann.current_boxes(session, image.id) if b["source"] == "model"]
        assert all(b["score"] >= 0.5 for b in boxes)
        for label, x, y, w, h in sample.boxes:
            total += 1
            truth = {"x": x, "y": y, "w": w, "h": h}
            found += any(b["label"] == label and detectors._iou(b, truth) >= 0.5 for b in boxes)
    assert found >= 0.7 * total, f"{found} of {total} shapes suggested"
