"""What each kind of job does: ``autolabel`` (suggest boxes) and ``train`` / ``baseline_train``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from labelhub_app.adapters.storage import get_store
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput
from labelhub_app.models.jobs import SCOPE_GLOBAL
from labelhub_app.services import detectors

if TYPE_CHECKING:
    from inference_worker.worker import JobContext

log = logging.getLogger("inference_worker.handlers")


def autolabel(ctx: JobContext) -> dict[str, Any]:
    """Suggest boxes on the job's images, batch by batch; each image's suggestions land once."""
    from inference_worker.worker import open_image

    worker, settings = ctx.worker, ctx.worker.settings
    with session_scope() as session:
        version = detectors.get_version(session, ctx.payload["model_version"])
        images = detectors.images_for_autolabel(session, list(ctx.payload.get("image_ids", [])))
    detector = worker.detector(version.public_id, version.object_key)
    total, done, added, skipped, unreadable = len(images), 0, 0, 0, 0
    batch_size = settings.worker_batch_size
    ctx.progress(0.0, f"Suggesting boxes on {total} images with model v{version.version}")
    for start in range(0, total, batch_size):
        ctx.check()  # cancelled, lost, or SIGTERM: stop between batches
        batch = images[start : start + batch_size]
        pictures, kept = [], []
        for image in batch:
            try:
                pictures.append(open_image(image.object_key))
                kept.append(image)
            except (KeyError, OSError) as exc:
                unreadable += 1
                log.warning("image %s unreadable: %s", image.public_id, exc)
        results = detector.predict(
            pictures, min_score=settings.suggestion_min_score, batch_size=batch_size
        )
        with session_scope() as session:
            for image, detections in zip(kept, results, strict=True):
                n = detectors.write_suggestions(
                    session,
                    job_public_id=ctx.job.public_id,
                    image_id=image.public_id,
                    model_version=version.public_id,
                    detections=detections,
                )
                if n is None:
                    skipped += 1  # this job wrote it before (a re-run after a crash)
                else:
                    added += n
        done += len(batch)
        ctx.progress(done / max(1, total), f"{done} of {total} images")
        if worker.batch_pause_s and done < total:
            worker.stopping.wait(worker.batch_pause_s)  # a SIGTERM ends the pause at once
    summary = f"{added} suggestions on {total - unreadable} images (model v{version.version})"
    if skipped:
        summary += f"; {skipped} images already had this job's suggestions"
    if unreadable:
        summary += f"; {unreadable} images could not be read"
    return {
        "summary": summary,
        "images": total,
        "suggestions": added,
        "already_done": skipped,
        "unreadable": unreadable,
        "model_version": version.public_id,
    }


def _load(examples: list[detectors.Example], size: int, ctx: JobContext, what: str):  # type: ignore[no-untyped-def]
    """PIL images shrunk to ``size`` (longest side) and their boxes scaled to match."""
    from PIL import Image

    from inference_worker.worker import open_image

    images, boxes = [], []
    for i, example in enumerate(examples):
        image = open_image(example.object_key)
        scale = min(1.0, size / max(image.size))
        if scale < 1.0:
            image = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.Resampling.BILINEAR,
            )
        images.append(image)
        boxes.append(
            [(n, x * scale, y * scale, w * scale, h * scale) for n, x, y, w, h in example.boxes]
        )
        if i % 50 == 49:
            ctx.progress(0.02, f"Loading {what} images: {i + 1} of {len(examples)}")
    return images, boxes


def train(ctx: JobContext) -> dict[str, Any]:
    """Train a new version on the scope's human boxes, evaluate it on the held-out split and let
    the registry's gate decide whether it replaces the active version."""
    from inference_worker.detector import Detector, device
    from inference_worker.evaluate import evaluate_detector
    from inference_worker.train import TrainingStopped, train_detector

    settings = ctx.worker.settings
    scope = ctx.payload.get("scope", SCOPE_GLOBAL)
    owner_id, project_id = ctx.payload.get("owner_id"), ctx.payload.get("project_id")
    with session_scope() as session:
        examples = detectors.training_examples(
            session, scope=scope, owner_id=owner_id, project_id=project_id
        )
        baseline = detectors.active_version(
            session, scope=scope, owner_id=owner_id, project_id=project_id
        )
    train_set, heldout = detectors.split_examples(examples, settings.detector_heldout_percent)
    if len(train_set) < detectors.MIN_TRAIN_IMAGES or len(heldout) < detectors.MIN_HELDOUT_IMAGES:
        raise InvalidInput(
            f"Only {len(examples)} images have human boxes ({len(train_set)} to train on, "
            f"{len(heldout)} held out); training needs at least {detectors.MIN_TRAIN_IMAGES} and "
            f"{detectors.MIN_HELDOUT_IMAGES}. Label more images and try again."
        )
    labels = sorted({b[0] for e in train_set for b in e.boxes})
    size = settings.detector_image_size
    arch = ctx.payload.get("arch") or settings.detector_arch
    train_images, train_boxes = _load(train_set, size, ctx, "training")
    held_images, held_boxes = _load(heldout, size, ctx, "held-out")
    ctx.check()

    detector = Detector.new(arch, labels, image_size=size, weights=settings.detector_weights)
    start_from = "random weights"
    if settings.detector_weights is not None:
        start_from = settings.detector_weights.name
    elif baseline is not None and baseline.arch == arch and ctx.payload.get("warm_start", True):
        from inference_worker.detector import load_matching

        with get_store().open(baseline.object_key) as fh:
            previous = Detector.from_bytes(fh.read())
        if previous.labels == labels:
            load_matching(detector.model, previous.model.state_dict())
            start_from = f"v{baseline.version}"
    detector.to(device())
    seconds = float(ctx.payload.get("seconds") or settings.detector_train_seconds)
    ctx.progress(0.03, f"Training on {len(train_set)} images from {start_from}")
    try:
        report = train_detector(
            detector,
            train_images,
            train_boxes,
            seconds=seconds,
            max_epochs=float(ctx.payload.get("max_epochs") or 1000),
            progress=lambda f, m: ctx.progress(0.03 + 0.87 * f, m),
            should_stop=ctx.should_stop,
        )
    except TrainingStopped:
        ctx.check()
        raise
    ctx.progress(0.92, f"Evaluating on {len(heldout)} held-out images")
    metrics = evaluate_detector(detector, held_images, held_boxes)
    baseline_metrics = None
    if baseline is not None:
        with get_store().open(baseline.object_key) as fh:
            old = Detector.from_bytes(fh.read()).to(device())
        baseline_metrics = evaluate_detector(old, held_images, held_boxes)
    key = f"models/{scope}/{ctx.job.public_id}.pt"
    get_store().put_bytes(key, detector.to_bytes())
    with session_scope() as session:
        version = detectors.register_version(
            session,
            job_id=ctx.job.id,
            scope=scope,
            owner_id=owner_id,
            project_id=project_id,
            arch=arch,
            labels=labels,
            train_images=report.images,
            train_boxes=report.boxes,
            heldout_ids=[e.image_id for e in heldout],
            metrics=metrics,
            object_key=key,
            baseline=baseline,
            baseline_metrics=baseline_metrics,
            details={
                "started_from": start_from,
                "steps": report.steps,
                "epochs": report.epochs,
                "train_seconds": report.seconds,
                "last_loss": report.last_loss,
                "image_size": size,
                "device": str(device()),
                "heldout_percent": settings.detector_heldout_percent,
            },
        )
    return {
        "summary": f"v{version.version}: {version.decision}",
        "model_version": version.public_id,
        "version": version.version,
        "active": version.active,
        "metrics": metrics,
        "baseline_metrics": baseline_metrics,
        "train_images": report.images,
        "heldout_images": len(heldout),
        "train_seconds": report.seconds,
    }
