"""The detector's model registry, requests for its jobs, its training data and its suggestions.

Who may do what:
- ``global`` scope (the model every producer's uploads get suggestions from): admins start its
  training (the Models page button, ``labelhub train --as admin@...``); the system starts it too
  after ``LABELHUB_RETRAIN_AFTER_CORRECTIONS`` human box edits since the last one
  (``maybe_schedule_training``, called by idle workers). Everyone signed in sees its versions
  and metrics; admins download its weights.
- ``producer`` scope: a producer trains a model on their own images' human boxes; it is theirs to
  see and download, and their uploads get suggestions from it before the global one.
- ``project`` scope (baseline training): a consumer trains on the images they bought into one of
  their projects, then downloads the weights and metrics.

Training data are human boxes (``source != "model"``, accepted suggestions included). The
held-out split is fixed per image: an image is held out when the hash of its public id falls in
the first ``detector_heldout_percent`` percent, so a held-out image never trains any version and
two versions of a scope are compared on the same images. A new version is activated only if it
beats the active one on those images (AP50, then AP as a tie-break); its ``decision`` says why.

Suggestions are written by the "LabelHub detector" account, one revision per image and job with
the save key ``al:<job>:<image>``: a job that runs twice (its worker crashed after writing)
leaves one set. A detection overlapping a human box, a pending suggestion or a rejected one (same
label, IoU >= 0.5) is left out, and human boxes are never changed.

No torch here: the worker (inference_worker/) trains and predicts, and calls these functions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.config import get_settings
from labelhub_app.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import (
    SOURCE_MODEL,
    AnnotationRevision,
    Box,
    Image,
    Label,
    Operation,
    Project,
    ProjectItem,
    Purchase,
    User,
)
from labelhub_app.models.jobs import (
    JOB_CANCELLED,
    SCOPE_GLOBAL,
    SCOPE_PRODUCER,
    SCOPE_PROJECT,
    SCOPES,
    Job,
    ModelVersion,
)
from labelhub_app.services import jobs

DETECTOR_EMAIL = "detector@labelhub.invalid"
DETECTOR_NAME = "LabelHub detector"
MAX_AUTOLABEL_IMAGES = 2000
MIN_TRAIN_IMAGES = 4
MIN_HELDOUT_IMAGES = 2
OVERLAP_IOU = 0.5
CORRECTION_ACTIONS = ("create", "update", "delete", "accept", "reject")
TRAIN_KINDS = ("train", "baseline_train")


# --- the system account -------------------------------------------------------------------------


def detector_account(session: Session) -> User:
    """The account that authors suggestions (created on first use; nobody can sign in as it)."""
    user = session.exec(select(User).where(User.email == DETECTOR_EMAIL)).first()
    if user is not None:
        return user
    user = User(
        email=DETECTOR_EMAIL,
        password_hash="!",  # not an argon2 hash: no password ever matches it
        display_name=DETECTOR_NAME,
        pseudonym=DETECTOR_NAME,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # another worker made it a moment ago
        session.rollback()
        return session.exec(select(User).where(User.email == DETECTOR_EMAIL)).one()
    return user


# --- the registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelVersionView:
    public_id: str
    scope: str
    version: int
    arch: str
    labels: list[str]
    train_images: int
    train_boxes: int
    heldout_images: int
    ap: float | None
    ap50: float | None
    ap75: float | None
    active: bool
    decision: str
    compared_with_version: int | None
    created_at: datetime
    job_id: str | None = None  # the training job's public id
    downloadable: bool = False  # the viewer may download its weights
    details: dict[str, Any] = field(default_factory=dict)


def _scope_filter(query, scope: str, owner_id: int | None, project_id: int | None):  # type: ignore[no-untyped-def]
    query = query.where(ModelVersion.scope == scope)
    if scope == SCOPE_GLOBAL:
        return query
    if scope == SCOPE_PRODUCER:
        return query.where(ModelVersion.owner_id == owner_id)
    return query.where(ModelVersion.project_id == project_id)


def active_version(
    session: Session,
    *,
    scope: str = SCOPE_GLOBAL,
    owner_id: int | None = None,
    project_id: int | None = None,
) -> ModelVersion | None:
    """The active version of a scope (a producer's: ``owner_id``; a project's: ``project_id``)."""
    query = _scope_filter(select(ModelVersion), scope, owner_id, project_id)
    return session.exec(
        query.where(col(ModelVersion.active).is_(True)).order_by(col(ModelVersion.id).desc())
    ).first()


def model_for(session: Session, user: User | None) -> ModelVersion | None:
    """The model whose suggestions ``user``'s images get: their own active one, else the global."""
    if user is not None:
        own = active_version(session, scope=SCOPE_PRODUCER, owner_id=user.id)
        if own is not None:
            return own
    return active_version(session)


def may_download(viewer: User | None, version: ModelVersion) -> bool:
    if viewer is None:
        return False
    if viewer.is_admin:
        return True
    return version.scope != SCOPE_GLOBAL and version.owner_id == viewer.id


def _view(
    version: ModelVersion, numbers: dict[int, int], job_ids: dict[int, str], viewer: User | None
) -> ModelVersionView:
    return ModelVersionView(
        version.public_id,
        version.scope,
        version.version,
        version.arch,
        list(version.labels),
        version.train_images,
        version.train_boxes,
        version.heldout_images,
        version.ap,
        version.ap50,
        version.ap75,
        version.active,
        version.decision,
        numbers.get(version.compared_with_id) if version.compared_with_id else None,  # type: ignore[arg-type]
        version.created_at,
        job_ids.get(version.job_id) if version.job_id else None,  # type: ignore[arg-type]
        may_download(viewer, version),
        {k: v for k, v in version.details.items() if k != "heldout_ids"},
    )


def list_versions(
    session: Session,
    *,
    viewer: User | None,
    scope: str = SCOPE_GLOBAL,
    project_id: str | None = None,
) -> list[ModelVersionView]:
    """A scope's versions, oldest first (for the chart). Producer scope: the viewer's own model;
    project scope: the viewer's project ``project_id`` (public id)."""
    if viewer is None:
        raise NotAuthenticated("Sign in to see the detector's versions.")
    if scope not in SCOPES:
        raise InvalidInput(f"Unknown scope {scope!r}; use one of {', '.join(SCOPES)}.")
    project_pk = None
    if scope == SCOPE_PROJECT:
        project_pk = _own_project(session, viewer, project_id or "").id
    query = _scope_filter(select(ModelVersion), scope, viewer.id, project_pk)
    versions = session.exec(query.order_by(col(ModelVersion.version))).all()
    numbers = {v.id: v.version for v in versions}  # type: ignore[misc]
    missing = {v.compared_with_id for v in versions if v.compared_with_id not in numbers} - {None}
    if missing:
        numbers.update(
            dict(
                session.exec(
                    select(ModelVersion.id, ModelVersion.version).where(
                        col(ModelVersion.id).in_(missing)
                    )
                ).all()
            )
        )
    job_ids = dict(
        session.exec(
            select(Job.id, Job.public_id).where(
                col(Job.id).in_([v.job_id for v in versions if v.job_id])
            )
        ).all()
    )
    return [_view(v, numbers, job_ids, viewer) for v in versions]  # type: ignore[arg-type]


def get_version(session: Session, version_id: str) -> ModelVersion:
    version = session.exec(select(ModelVersion).where(ModelVersion.public_id == version_id)).first()
    if version is None:
        raise NotFound("This model version does not exist.")
    return version


def weights_for_download(
    session: Session, *, actor: User | None, version_id: str
) -> tuple[str, str]:
    """(object key, file name) of a version's weights, for whoever may download them."""
    if actor is None:
        raise NotAuthenticated("Sign in to download model weights.")
    version = get_version(session, version_id)
    if not may_download(actor, version):
        raise Forbidden(
            "Only admins download the global model; producers and consumers download their own."
        )
    if not version.object_key:
        raise NotFound("This version has no stored weights.")
    return version.object_key, f"labelhub-detector-{version.scope}-v{version.version}.pt"


def metrics_for_download(
    session: Session, *, actor: User | None, version_id: str
) -> dict[str, Any]:
    """A version's metrics and training facts as a JSON-ready dict (same rule as the weights)."""
    weights_for_download(session, actor=actor, version_id=version_id)
    v = get_version(session, version_id)
    return {
        "model_version": v.public_id,
        "scope": v.scope,
        "version": v.version,
        "arch": v.arch,
        "labels": v.labels,
        "train_images": v.train_images,
        "train_boxes": v.train_boxes,
        "heldout_images": v.heldout_images,
        "ap": v.ap,
        "ap50": v.ap50,
        "ap75": v.ap75,
        "active": v.active,
        "decision": v.decision,
        "created_at": v.created_at.isoformat(),
        "heldout_image_ids": v.details.get("heldout_ids", []),
        "training": {k: val for k, val in v.details.items() if k != "heldout_ids"},
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def register_version(
    session: Session,
    *,
    job_id: int | None,
    scope: str,
    owner_id: int | None,
    project_id: int | None,
    arch: str,
    labels: list[str],
    train_images: int,
    train_boxes: int,
    heldout_ids: list[str],
    metrics: dict[str, float],
    object_key: str,
    baseline: ModelVersion | None = None,
    baseline_metrics: dict[str, float] | None = None,
    details: dict[str, Any] | None = None,
) -> ModelVersion:
    """Record a trained version and apply the activation gate (commits).

    ``baseline``/``baseline_metrics``: the scope's active version and its metrics on the same
    held-out images. Idempotent per job: a re-run of the same training job returns its version.
    """
    if job_id is not None:
        done = session.exec(select(ModelVersion).where(ModelVersion.job_id == job_id)).first()
        if done is not None:
            return done
    number = (
        session.exec(
            _scope_filter(select(func.max(ModelVersion.version)), scope, owner_id, project_id)
        ).one()
        or 0
    ) + 1
    ap50, ap = metrics.get("ap50"), metrics.get("ap")
    n = len(heldout_ids)
    min_ap50 = get_settings().detector_min_ap50
    if baseline is None:
        activate = ap50 is not None and ap50 >= min_ap50
        decision = (
            f"Activated: first model of this scope, AP50 {_fmt(ap50)} on {n} held-out images."
            if activate
            else f"Not activated: AP50 {_fmt(ap50)} on {n} held-out images is below the "
            f"{min_ap50:.2f} a first model needs; label more images and train again."
        )
    else:
        old50, old = (baseline_metrics or {}).get("ap50"), (baseline_metrics or {}).get("ap")
        new_key = (ap50 or 0.0, ap or 0.0)
        old_key = (old50 or 0.0, old or 0.0)
        activate = new_key > old_key
        if activate and (ap50 or 0.0) > (old50 or 0.0):
            decision = (
                f"Activated: AP50 {_fmt(ap50)} beats v{baseline.version}'s {_fmt(old50)} "
                f"on the same {n} held-out images."
            )
        elif activate:
            decision = (
                f"Activated: AP50 ties v{baseline.version} at {_fmt(ap50)} on the same {n} "
                f"held-out images, and AP {_fmt(ap)} beats its {_fmt(old)}."
            )
        else:
            decision = (
                f"Not activated: AP50 {_fmt(ap50)} (AP {_fmt(ap)}) does not beat "
                f"v{baseline.version}'s {_fmt(old50)} (AP {_fmt(old)}) on the same {n} "
                f"held-out images; v{baseline.version} stays active."
            )
    version = ModelVersion(
        scope=scope,
        owner_id=owner_id,
        project_id=project_id,
        version=number,
        arch=arch,
        labels=list(labels),
        train_images=train_images,
        train_boxes=train_boxes,
        heldout_images=n,
        ap=metrics.get("ap"),
        ap50=ap50,
        ap75=metrics.get("ap75"),
        compared_with_id=baseline.id if baseline else None,
        active=activate,
        decision=decision[:400],
        object_key=object_key,
        details={
            **(details or {}),
            "heldout_ids": list(heldout_ids),
            "baseline_metrics": baseline_metrics,
        },
        job_id=job_id,
    )
    if activate:
        session.execute(
            _scope_filter(update(ModelVersion), scope, owner_id, project_id)
            .where(col(ModelVersion.active).is_(True))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
    session.add(version)
    session.commit()
    return version


# --- training data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One image with its human boxes (original pixels): (label, x, y, w, h)."""

    image_id: str  # public id
    object_key: str
    width: int
    height: int
    boxes: list[tuple[str, float, float, float, float]]


def is_heldout(image_public_id: str, percent: int | None = None) -> bool:
    """Held out for evaluation, for every version, forever (a hash of the image's public id)."""
    percent = get_settings().detector_heldout_percent if percent is None else percent
    digest = hashlib.sha256(image_public_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def training_examples(
    session: Session,
    *,
    scope: str = SCOPE_GLOBAL,
    owner_id: int | None = None,
    project_id: int | None = None,
) -> list[Example]:
    """Every image of the scope with at least one human box (accepted suggestions included)."""
    query = (
        select(Image.public_id, Image.object_key, Image.width, Image.height, Label.name, Box)
        .join(Image, col(Image.id) == Box.image_id)
        .join(Label, col(Label.id) == Box.label_id)
        .where(Box.source != SOURCE_MODEL)
    )
    if scope == SCOPE_PRODUCER:
        query = query.where(Image.owner_id == owner_id)
    elif scope == SCOPE_PROJECT:
        bought = (
            select(Purchase.image_id)
            .join(ProjectItem, col(ProjectItem.image_id) == Purchase.image_id)
            .where(ProjectItem.project_id == project_id, Purchase.buyer_id == owner_id)
        )
        query = query.where(col(Image.id).in_(bought))
    grouped: dict[str, Example] = {}
    boxes: dict[str, list[tuple[str, float, float, float, float]]] = defaultdict(list)
    for public_id, key, width, height, name, box in session.exec(
        query.order_by(col(Image.id), col(Box.id))
    ).all():
        if public_id not in grouped:
            grouped[public_id] = Example(public_id, key, width, height, boxes[public_id])
        boxes[public_id].append((name, box.x, box.y, box.w, box.h))
    return list(grouped.values())


def split_examples(
    examples: list[Example], percent: int | None = None
) -> tuple[list[Example], list[Example]]:
    """(train, held out) by the fixed per-image rule of ``is_heldout``."""
    train = [e for e in examples if not is_heldout(e.image_id, percent)]
    heldout = [e for e in examples if is_heldout(e.image_id, percent)]
    return train, heldout


# --- requesting jobs ------------------------------------------------------------------------------


def _own_project(session: Session, actor: User, project_id: str) -> Project:
    project = session.exec(select(Project).where(Project.public_id == project_id)).first()
    if project is None or (project.owner_id != actor.id and not actor.is_admin):
        raise NotFound("This project does not exist or is not yours.")
    return project


def _existing_training(session: Session, payload: dict[str, Any], kind: str) -> Job | None:
    return jobs.pending_job(
        session,
        kind=kind,
        match={k: payload[k] for k in ("scope", "owner_id", "project_id")},
    )


def request_training(session: Session, *, actor: User | None, scope: str = SCOPE_GLOBAL) -> Job:
    """Queue a training job: admins for the global model, producers for their own model.

    A training job already queued or running for the same model is returned instead of a second.
    """
    if actor is None:
        raise NotAuthenticated("Sign in to train a detector.")
    if scope == SCOPE_GLOBAL:
        if not actor.is_admin:
            raise Forbidden(
                "Only admins train the global detector; producers can train their own model."
            )
        owner_id = None
    elif scope == SCOPE_PRODUCER:
        if not (actor.is_producer or actor.is_admin):
            raise Forbidden("Only producers train a model on their own images.")
        owner_id = actor.id
    else:
        raise InvalidInput("Train the global model or your own; a project has baseline training.")
    payload = {"scope": scope, "owner_id": owner_id, "project_id": None, "reason": "requested"}
    existing = _existing_training(session, payload, "train")
    if existing is not None:
        return existing
    return jobs.enqueue(session, kind="train", payload=payload, priority=1, created_by=actor)


def request_baseline_training(session: Session, *, actor: User | None, project_id: str) -> Job:
    """A consumer trains a baseline detector on the images bought into their project."""
    if actor is None:
        raise NotAuthenticated("Sign in to train a baseline.")
    if not (actor.is_consumer or actor.is_admin):
        raise Forbidden("Baseline training is for consumers, on projects they bought.")
    project = _own_project(session, actor, project_id)
    examples = training_examples(
        session, scope=SCOPE_PROJECT, owner_id=project.owner_id, project_id=project.id
    )
    train, heldout = split_examples(examples)
    if len(train) < MIN_TRAIN_IMAGES or len(heldout) < MIN_HELDOUT_IMAGES:
        raise InvalidInput(
            f"This project has {len(examples)} bought images with boxes; baseline training needs "
            f"at least {MIN_TRAIN_IMAGES} to train on and {MIN_HELDOUT_IMAGES} held out to "
            "measure it (about 10 images with boxes). Buy or add more labelled images first."
        )
    payload = {
        "scope": SCOPE_PROJECT,
        "owner_id": project.owner_id,
        "project_id": project.id,
        "project": project.public_id,
        "reason": "baseline",
    }
    existing = _existing_training(session, payload, "baseline_train")
    if existing is not None:
        return existing
    return jobs.enqueue(session, kind="baseline_train", payload=payload, created_by=actor)


def request_autolabel(session: Session, *, actor: User | None, image_ids: list[str]) -> Job:
    """Queue suggestions for a selection of images (only those the actor may edit)."""
    from labelhub_app.services.annotations import may_edit

    if actor is None:
        raise NotAuthenticated("Sign in to auto-label images.")
    wanted = list(dict.fromkeys(image_ids))
    if not wanted:
        raise InvalidInput("Choose at least one image to auto-label.")
    if len(wanted) > MAX_AUTOLABEL_IMAGES:
        raise InvalidInput(f"Auto-label at most {MAX_AUTOLABEL_IMAGES:,} images at a time.")
    found = session.exec(select(Image).where(col(Image.public_id).in_(wanted))).all()
    allowed = {i.public_id for i in found if may_edit(actor, i)}
    chosen = [i for i in wanted if i in allowed]
    if not chosen:
        raise Forbidden("You can auto-label only images you may edit (your own).")
    version = model_for(session, actor)
    if version is None:
        raise InvalidInput(
            "No detector is active yet, so there is nothing to suggest boxes with. Label some "
            "images and train one on the Models page first."
        )
    return jobs.enqueue(
        session,
        kind="autolabel",
        payload={"image_ids": chosen, "model_version": version.public_id},
        created_by=actor,
    )


def autolabel_uploads(session: Session, *, actor: User, image_ids: list[str]) -> Job | None:
    """After an upload batch: one auto-label job for its new images when a model is active."""
    if not image_ids:
        return None
    version = model_for(session, actor)
    if version is None:
        return None
    return jobs.enqueue(
        session,
        kind="autolabel",
        payload={"image_ids": list(image_ids), "model_version": version.public_id},
        created_by=actor,
    )


def corrections_since_training(session: Session) -> int:
    """Human box edits (add, change, delete, accept, reject) since the last global training job."""
    last = session.exec(
        select(func.max(Job.created_at)).where(Job.kind == "train", Job.status != JOB_CANCELLED)
    ).one()
    detector = session.exec(select(User.id).where(User.email == DETECTOR_EMAIL)).first()
    query = (
        select(func.count())
        .select_from(Operation)
        .where(col(Operation.action).in_(CORRECTION_ACTIONS))
    )
    if detector is not None:
        query = query.where(Operation.user_id != detector)
    if last is not None:
        query = query.where(Operation.created_at > last)
    return int(session.exec(query).one())


def maybe_schedule_training(session: Session) -> Job | None:
    """Queue global training after LABELHUB_RETRAIN_AFTER_CORRECTIONS corrections (0: never)."""
    threshold = get_settings().retrain_after_corrections
    if threshold <= 0:
        return None
    payload = {"scope": SCOPE_GLOBAL, "owner_id": None, "project_id": None}
    if _existing_training(session, payload, "train") is not None:
        return None
    count = corrections_since_training(session)
    if count < threshold:
        return None
    payload["reason"] = f"{count} corrections since the last training"
    return jobs.enqueue(session, kind="train", payload=payload, priority=1)


# --- suggestions (the worker writes them) ---------------------------------------------------------


def suggestion_key(job_public_id: str, image_pk: int) -> str:
    return f"al:{job_public_id}:{image_pk}"


def _iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def images_for_autolabel(session: Session, image_ids: list[str]) -> list[Image]:
    """The job's images that still exist, in the order given."""
    rows = {
        i.public_id: i
        for i in session.exec(select(Image).where(col(Image.public_id).in_(image_ids))).all()
    }
    return [rows[i] for i in image_ids if i in rows]


def write_suggestions(
    session: Session,
    *,
    job_public_id: str,
    image_id: str,
    model_version: str,
    detections: list[dict[str, Any]],
) -> int | None:
    """Save a job's detections on one image as suggestions, in one revision (commits).

    ``detections``: dicts with label, x, y, w, h (original pixels) and score. Returns how many
    suggestions were added, or None when this job already wrote this image (a re-run).
    """
    from labelhub_app.services import annotations as ann
    from labelhub_app.services.labels import check_label_name

    actor = detector_account(session)
    for _attempt in range(5):
        image = session.exec(select(Image).where(Image.public_id == image_id)).first()
        if image is None:
            return 0
        key = suggestion_key(job_public_id, image.id)  # type: ignore[arg-type]
        done = session.exec(
            select(AnnotationRevision.id).where(AnnotationRevision.save_key == key)
        ).first()
        if done is not None:
            return None
        current = ann.current_boxes(session, image.id)  # type: ignore[arg-type]
        pending = [b for b in current if b["source"] == SOURCE_MODEL]
        kept = _drop_decided(session, image.id, detections)  # type: ignore[arg-type]
        changes: list[dict[str, Any]] = []
        for index, det in enumerate(kept):
            raw = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"labelhub:{key}:{index}")),
                "label": det["label"],
                "x": det["x"],
                "y": det["y"],
                "w": det["w"],
                "h": det["h"],
                "source": SOURCE_MODEL,
                "score": round(float(det.get("score") or 0.0), 4),
            }
            try:
                box = ann._clean_box(raw, image)
                box["label"] = check_label_name(box["label"])
            except InvalidInput:
                continue  # a sliver at the border: not worth suggesting
            if any(p["label"] == box["label"] and _iou(p, box) >= OVERLAP_IOU for p in pending):
                continue
            pending.append(box)
            changes.append({"op": "add", "box": box})
        room = ann.MAX_BOXES_PER_IMAGE - len(current)
        changes = changes[: max(0, room)]
        if not changes:
            return 0
        ann._apply(session, actor=actor, image=image, changes=changes)
        ann._append_revision(
            session, actor=actor, image=image, changes=changes, kind="suggest", save_key=key
        )
        session.flush()
        session.execute(
            update(Box)
            .where(
                Box.image_id == image.id,
                col(Box.public_id).in_([c["box"]["id"] for c in changes]),
            )
            .values(model_version=model_version)
            .execution_options(synchronize_session=False)
        )
        try:
            session.commit()
        except IntegrityError:  # a person saved the image meanwhile, or another run won
            session.rollback()
            continue
        return len(changes)
    raise InvalidInput("The image kept changing while its suggestions were being saved; try again.")


def _drop_decided(
    session: Session, image_pk: int, detections: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Leave out detections overlapping a human box or a suggestion someone rejected."""
    try:
        from labelhub_app.services.suggestions import drop_rejected
    except ImportError:  # pragma: no cover - the suggestions module arrives with the editor part
        return detections
    return drop_rejected(session, image_id=image_pk, detections=detections)
