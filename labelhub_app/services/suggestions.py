"""Suggestions: the detector's boxes (``source="model"``) that people accept or reject.

A suggestion is a box like any other, drawn dashed with its score. Accepting it is an edit that
turns it into a human box (``source="human"``, ``score=None``); rejecting it removes it. Both are
ordinary edits saved by ``annotations.save_annotations`` as one revision, so they are undoable in
the editor, conflict-checked and replayable; the operation log records them with the actions
``accept`` and ``reject`` (annotations._action). On the same save ``record_decisions`` keeps:

- on an accepted box: who verified it, the score it had and the model version that made it
  (``Box.verified_by_id``, ``Box.accepted_score``, ``Box.model_version``);
- a ``SuggestionDecision`` row per accept and reject with the suggestion's label and geometry.

The worker calls ``drop_rejected`` before writing a new set of suggestions for an image, so a
suggestion someone rejected does not come back when a model labels the image again.

Training uses boxes with ``source != "model"``, which includes accepted suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from labelhub_app.errors import InvalidInput, NotFound
from labelhub_app.models import SOURCE_HUMAN, SOURCE_MODEL, Box, Image, Label, User, utcnow
from labelhub_app.models.suggestions import (
    DECISION_ACCEPT,
    DECISION_REJECT,
    SuggestionDecision,
)
from labelhub_app.services import annotations as ann

DEFAULT_IOU = 0.5


# --- what a change means ------------------------------------------------------------------------


def decision_for(change: dict[str, Any]) -> str | None:
    """ "accept" / "reject" when the revision change ``change`` decides on a suggestion."""
    op = change.get("op")
    if op == "update":
        before, after = change["before"], change["after"]
        if before.get("source") == SOURCE_MODEL and after.get("source") == SOURCE_HUMAN:
            return DECISION_ACCEPT
    elif op == "remove" and change["box"].get("source") == SOURCE_MODEL:
        return DECISION_REJECT
    return None


def accepted_box(box: dict[str, Any]) -> dict[str, Any]:
    """The human box that accepting the suggestion ``box`` makes (same id, label, geometry)."""
    return {**box, "source": SOURCE_HUMAN, "score": None}


def record_decisions(
    session: Session, *, actor: User, image: Image, changes: list[dict[str, Any]]
) -> int:
    """Keep the accepts and rejects among ``changes`` (called by save_annotations; no commit).

    Runs before the changes are applied, while the suggestions' rows still exist. Returns the
    number of decisions recorded.
    """
    decided = [(d, c) for c in changes if (d := decision_for(c)) is not None]
    if not decided:
        return 0
    ids = [(c["before"] if d == DECISION_ACCEPT else c["box"])["id"] for d, c in decided]
    rows = {
        public_id: (pk, version)
        for pk, public_id, version in session.exec(
            select(Box.id, Box.public_id, Box.model_version).where(
                Box.image_id == image.id, col(Box.public_id).in_(ids)
            )
        ).all()
    }
    revision, now = image.revision + 1, utcnow()
    decisions: list[dict[str, Any]] = []
    provenance: list[dict[str, Any]] = []
    for (decision, change), box_id in zip(decided, ids, strict=True):
        suggestion = change["before"] if decision == DECISION_ACCEPT else change["box"]
        pk, version = rows.get(box_id, (None, None))
        decisions.append(
            {
                "image_id": image.id,
                "box_public_id": box_id,
                "decision": decision,
                "label": suggestion["label"],
                "x": suggestion["x"],
                "y": suggestion["y"],
                "w": suggestion["w"],
                "h": suggestion["h"],
                "score": suggestion.get("score"),
                "model_version": version,
                "user_id": actor.id,
                "revision": revision,
                "created_at": now,
            }
        )
        if decision == DECISION_ACCEPT and pk is not None:
            provenance.append(
                {"id": pk, "verified_by_id": actor.id, "accepted_score": suggestion.get("score")}
            )
    # Bulk statements: an "accept all" of hundreds of boxes stays one round trip each.
    session.execute(insert(SuggestionDecision), decisions)
    if provenance:
        session.execute(update(Box), provenance)
    return len(decided)


# --- deciding from a service (API, CLI, tests); the editor saves the same edits ---------------


def _suggestions(session: Session, image: Image, box_ids: Iterable[str] | None) -> list[dict]:
    boxes = ann.current_boxes(session, image.id, None if box_ids is None else list(box_ids))  # type: ignore[arg-type]
    return [b for b in boxes if b["source"] == SOURCE_MODEL]


def _image(session: Session, image_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == image_id)).first()
    if image is None:
        raise NotFound("This image does not exist.")
    return image


def accept_suggestions(
    session: Session,
    *,
    actor: User | None,
    image_id: str,
    base_revision: int,
    box_ids: list[str] | None = None,
    min_score: float | None = None,
    save_key: str | None = None,
) -> ann.SaveResult:
    """Accept the image's suggestions (those in ``box_ids``, and/or scoring >= ``min_score``).

    One revision; the operation log gets one ``accept`` per box. Ids that are not suggestions
    (already decided, or human boxes) are skipped; an empty choice changes nothing.
    """
    if box_ids is None and min_score is None:
        raise InvalidInput("Say which suggestions to accept: pick boxes or a minimum score.")
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise InvalidInput("The minimum score is between 0 and 1.")
    image = _image(session, image_id)
    chosen = [
        b
        for b in _suggestions(session, image, box_ids)
        if min_score is None or (b["score"] is not None and b["score"] >= min_score)
    ]
    edits = [ann.BoxEdit("update", accepted_box(b)) for b in chosen]
    return ann.save_annotations(
        session,
        actor=actor,
        image_id=image_id,
        base_revision=base_revision,
        edits=edits,
        save_key=save_key,
    )


def reject_suggestions(
    session: Session,
    *,
    actor: User | None,
    image_id: str,
    base_revision: int,
    box_ids: list[str],
    save_key: str | None = None,
) -> ann.SaveResult:
    """Reject (remove) the image's suggestions ``box_ids``; one revision, one ``reject`` each."""
    image = _image(session, image_id)
    edits = [ann.BoxEdit("delete", b) for b in _suggestions(session, image, box_ids)]
    return ann.save_annotations(
        session,
        actor=actor,
        image_id=image_id,
        base_revision=base_revision,
        edits=edits,
        save_key=save_key,
    )


# --- for the worker -------------------------------------------------------------------------------


def stamp_model_version(
    session: Session, *, image_id: int, box_ids: list[str], model_version: str
) -> int:
    """Record which model version made the suggestions ``box_ids`` (worker, after saving them).

    Idempotent; only touches boxes that are still suggestions. Commits (its own small operation).
    Returns the number of boxes stamped.
    """
    rows = session.exec(
        select(Box).where(
            Box.image_id == image_id,
            Box.source == SOURCE_MODEL,
            col(Box.public_id).in_(box_ids),
        )
    ).all()
    for row in rows:
        row.model_version = model_version
        session.add(row)
    session.commit()
    return len(rows)


def iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Intersection over union of two {x, y, w, h} boxes."""
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def rejected_boxes(session: Session, *, image_id: int) -> list[dict[str, Any]]:
    """Every suggestion rejected on the image (internal id): label, geometry, score, version."""
    rows = session.exec(
        select(SuggestionDecision)
        .where(
            SuggestionDecision.image_id == image_id,
            SuggestionDecision.decision == DECISION_REJECT,
        )
        .order_by(col(SuggestionDecision.id))
    ).all()
    return [
        {
            "label": r.label,
            "x": r.x,
            "y": r.y,
            "w": r.w,
            "h": r.h,
            "score": r.score,
            "model_version": r.model_version,
        }
        for r in rows
    ]


def drop_rejected(
    session: Session,
    *,
    image_id: int,
    detections: list[dict[str, Any]],
    min_iou: float = DEFAULT_IOU,
    skip_human: bool = True,
) -> list[dict[str, Any]]:
    """The detections (dicts with label, x, y, w, h) a person has not already decided on.

    Drops a detection that overlaps (IoU >= ``min_iou``, same label) a suggestion rejected on this
    image by anyone, with any model version; with ``skip_human``, also one that overlaps a
    human box of the same label (an accepted suggestion or a drawn box). Read-only.
    """
    if not detections:
        return []
    against = rejected_boxes(session, image_id=image_id)
    if skip_human:
        against += [
            {"label": name, "x": b.x, "y": b.y, "w": b.w, "h": b.h}
            for b, name in session.exec(
                select(Box, Label.name)
                .join(Label, col(Label.id) == Box.label_id)
                .where(Box.image_id == image_id, Box.source != SOURCE_MODEL)
            )
        ]
    return [
        d
        for d in detections
        if not any(r["label"] == d["label"] and iou(r, d) >= min_iou for r in against)
    ]


@dataclass(frozen=True)
class DecisionRow:
    box_id: str
    decision: str
    label: str
    score: float | None
    model_version: str | None
    revision: int


def list_decisions(session: Session, *, actor: User | None, image_id: str) -> list[DecisionRow]:
    """The accepts and rejects on one image, oldest first (for whoever may view the image)."""
    image = _image(session, image_id)
    ann._require_view(session, actor, image)
    rows = session.exec(
        select(SuggestionDecision)
        .where(SuggestionDecision.image_id == image.id)
        .order_by(col(SuggestionDecision.id))
    ).all()
    return [
        DecisionRow(r.box_public_id, r.decision, r.label, r.score, r.model_version, r.revision)
        for r in rows
    ]
