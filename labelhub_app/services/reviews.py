"""The review queue: reviewers accept, reject (with a reason) or fix producers' labels.

Queue order: open review requests first (images put there by consolidation or anyone calling
``request_review``, oldest request first), then labelled images nobody has reviewed yet, newest
first; optionally only one producer's (by pseudonym) or one label's. A reviewer never sees their
own images. Gold images (services/gold.py) are slipped in unannounced; a verdict on one grades the
reviewer against the gold answer instead of counting towards the producer's reputation, and a
"fix" of a gold image is graded but not applied (the image's labels stay as they were).

Each verdict is one transaction: the review row, the reviewer's new revision (a fix), the
operation log, the resolved requests, the producer's reputation and the search outbox rows that
carry the new score to the market index.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import (
    Box,
    GoldItem,
    Image,
    ImageLabel,
    Label,
    Operation,
    Review,
    ReviewRequest,
    User,
    utcnow,
)
from labelhub_app.models.reviews import OUTCOME_ACCEPTED, OUTCOME_FIXED, OUTCOME_REJECTED
from labelhub_app.services import annotations as ann
from labelhub_app.services import gold as gold_service
from labelhub_app.services.reputation import update_reputation

MAX_REASON = 1000
GOLD_EVERY = 8  # about one gold image among this many queue items


@dataclass(frozen=True)
class QueueItem:
    image_id: str  # public id
    file_name: str
    producer: str  # pseudonym
    created_at: datetime
    reason: str  # why it was requested ("" for an ordinary image)


@dataclass(frozen=True)
class ReviewItem:
    """What a reviewer sees of one image (never whether it is gold)."""

    image_id: str
    file_name: str
    width: int
    height: int
    producer: str
    revision: int
    tags: list[str]
    boxes: list[dict[str, Any]]
    requested_reason: str


@dataclass(frozen=True)
class DiffLine:
    kind: str  # added, removed, moved, resized, relabelled, tag_added, tag_removed
    text: str


@dataclass(frozen=True)
class ReviewOutcome:
    review_id: str
    outcome: str
    revision: int  # the image's revision after the verdict
    diff: list[DiffLine]


@dataclass(frozen=True)
class ReviewRow:
    """A review as its producer sees it (no reviewer identity beyond a pseudonym)."""

    review_id: str
    image_id: str
    file_name: str
    outcome: str
    reason: str
    reviewer: str
    created_at: datetime
    diff: list[DiffLine]


# ------------------------------------------------------------------------------ helpers
def _require_reviewer(actor: User | None) -> User:
    if actor is None:
        raise NotAuthenticated("Sign in to review images.")
    if not (actor.is_reviewer or actor.is_admin):
        raise Forbidden("Only reviewers can review images; ask an admin for the reviewer role.")
    return actor


def _image(session: Session, public_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == public_id)).first()
    if image is None:
        raise NotFound("This image does not exist.")
    return image


def _reviewable(actor: User, image: Image) -> None:
    if image.owner_id == actor.id:
        raise Forbidden("You cannot review your own images; another reviewer will.")


def _box_text(b: dict[str, Any]) -> str:
    x, y, w, h = (float(b[k]) for k in ("x", "y", "w", "h"))
    return f"{b.get('label', '?')} at ({x:.0f}, {y:.0f}) {w:.0f}x{h:.0f}"


def diff_lines(changes: list[dict[str, Any]]) -> list[DiffLine]:
    """A revision's changes as lines a person reads: boxes added / removed / moved, tags."""
    lines: list[DiffLine] = []
    for c in changes:
        op = c.get("op")
        if op == "add":
            lines.append(DiffLine("added", f"added box {_box_text(c['box'])}"))
        elif op == "remove":
            lines.append(DiffLine("removed", f"removed box {_box_text(c['box'])}"))
        elif op == "update":
            before, after = c["before"], c["after"]
            if before.get("label") != after.get("label"):
                lines.append(
                    DiffLine(
                        "relabelled",
                        f"relabelled box {before.get('label')} → {after.get('label')}",
                    )
                )
            if any(float(before[k]) != float(after[k]) for k in ("x", "y", "w", "h")):
                kind = (
                    "moved"
                    if (float(before["w"]), float(before["h"]))
                    == (float(after["w"]), float(after["h"]))
                    else "resized"
                )
                lines.append(
                    DiffLine(
                        kind,
                        f"{kind} box {_box_text(before)} → ({float(after['x']):.0f}, "
                        f"{float(after['y']):.0f}) {float(after['w']):.0f}x{float(after['h']):.0f}",
                    )
                )
        elif op == "tag_add":
            lines.append(DiffLine("tag_added", f"added tag {c.get('label')}"))
        elif op == "tag_remove":
            lines.append(DiffLine("tag_removed", f"removed tag {c.get('label')}"))
    return lines


# ------------------------------------------------------------------------------ requests
def request_review(
    session: Session, *, image_id: int, reason: str, source: str = "consensus"
) -> None:
    """Put an image at the front of the review queue with a reason (no commit).

    An image with an open request keeps that one (the reason is updated); a review resolves it.
    """
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise InvalidInput("Say why the image needs a review.")
    open_request = session.exec(
        select(ReviewRequest).where(
            ReviewRequest.image_id == image_id, col(ReviewRequest.resolved_at).is_(None)
        )
    ).first()
    if open_request is not None:
        open_request.reason, open_request.source = reason, source[:16]
        session.add(open_request)
        return
    session.add(ReviewRequest(image_id=image_id, reason=reason, source=source[:16]))


# ------------------------------------------------------------------------------ the queue
def _filters(session: Session, query: Any, producer: str | None, label: str | None) -> Any:
    if producer:
        owner_id = session.exec(select(User.id).where(User.pseudonym == producer.strip())).first()
        if owner_id is None:
            raise NotFound(f"No producer is called {producer.strip()!r}.")
        query = query.where(Image.owner_id == owner_id)
    if label:
        from labelhub_app.services.labels import normalise_label

        label_id = session.exec(
            select(Label.id).where(Label.name == normalise_label(label))
        ).first()
        if label_id is None:
            raise NotFound(f"No label is called {label.strip()!r}.")
        query = query.where(
            select(ImageLabel.image_id)
            .where(ImageLabel.image_id == Image.id, ImageLabel.label_id == label_id)
            .exists()
            | select(Box.image_id)
            .where(Box.image_id == Image.id, Box.label_id == label_id)
            .exists()
        )
    return query


def review_queue(
    session: Session,
    *,
    reviewer: User | None,
    producer: str | None = None,
    label: str | None = None,
    limit: int = 20,
    with_gold: bool = True,
    seed: int | None = None,
) -> list[QueueItem]:
    """The reviewer's next images: requested ones first, then the newest unreviewed ones."""
    user = _require_reviewer(reviewer)
    if not 1 <= limit <= 100:
        raise InvalidInput("Ask for 1 to 100 queue items.")
    base = (
        select(Image.id, Image.public_id, Image.file_name, User.pseudonym, Image.created_at)
        .join(User, col(User.id) == col(Image.owner_id))
        .where(Image.owner_id != user.id)
        .where(
            ~select(GoldItem.id)
            .where(GoldItem.image_id == Image.id, col(GoldItem.active).is_(True))
            .exists()
        )
    )
    base = _filters(session, base, producer, label)
    requested = session.exec(
        base.add_columns(ReviewRequest.reason)
        .join(ReviewRequest, col(ReviewRequest.image_id) == col(Image.id))
        .where(col(ReviewRequest.resolved_at).is_(None))
        .order_by(col(ReviewRequest.created_at), col(ReviewRequest.id))
        .limit(limit)
    ).all()
    items: list[QueueItem] = []
    seen: set[int] = set()
    for image_id, public_id, name, who, created, reason in requested:
        if image_id in seen:
            continue
        seen.add(image_id)
        items.append(QueueItem(public_id, name, who, created, reason))
    if len(items) < limit:
        labelled = (
            select(ImageLabel.image_id).where(ImageLabel.image_id == Image.id).exists()
            | select(Box.image_id).where(Box.image_id == Image.id).exists()
        )
        reviewed = (
            select(Review.id)
            .where(Review.image_id == Image.id, col(Review.gold).is_(False))
            .exists()
        )
        query = base.where(labelled, ~reviewed)
        if seen:
            query = query.where(col(Image.id).not_in(list(seen)))
        for image_id, public_id, name, who, created in session.exec(
            query.order_by(col(Image.created_at).desc(), col(Image.id).desc()).limit(
                limit - len(items)
            )
        ).all():
            seen.add(image_id)
            items.append(QueueItem(public_id, name, who, created, ""))
    if with_gold and items:
        rng = random.Random(seed)
        wanted = max(1, len(items) // GOLD_EVERY)
        golds = gold_service.gold_images_for(
            session, user=user, limit=wanted, exclude_image_ids=seen
        )
        owners = dict(
            session.exec(
                select(User.id, User.pseudonym).where(col(User.id).in_([g.owner_id for g in golds]))
            ).all()
        )
        for g in golds:
            position = rng.randint(0, len(items))
            items.insert(
                position,
                QueueItem(g.public_id, g.file_name, owners.get(g.owner_id, ""), g.created_at, ""),
            )
    return items


def open_for_review(session: Session, *, reviewer: User | None, image_id: str) -> ReviewItem:
    """One image as a reviewer sees it; refuses the reviewer's own images."""
    user = _require_reviewer(reviewer)
    image = _image(session, image_id)
    _reviewable(user, image)
    owner = session.get(User, image.owner_id)
    request = session.exec(
        select(ReviewRequest.reason).where(
            ReviewRequest.image_id == image.id, col(ReviewRequest.resolved_at).is_(None)
        )
    ).first()
    return ReviewItem(
        image.public_id,
        image.file_name,
        image.width,
        image.height,
        owner.pseudonym if owner else "",
        image.revision,
        ann.current_tags(session, image.id),  # type: ignore[arg-type]
        ann.current_boxes(session, image.id),  # type: ignore[arg-type]
        request or "",
    )


# ------------------------------------------------------------------------------ verdicts
def _check_revision(image: Image, base_revision: int) -> None:
    if base_revision != image.revision:
        raise Conflict(
            f"The labels changed while you were reviewing (now revision {image.revision}, you saw "
            f"{base_revision}). Reload the image and review the current labels."
        )


def _grade_gold(
    session: Session,
    *,
    user: User,
    image: Image,
    outcome: str,
    tags: list[str],
    boxes: list[dict[str, Any]],
) -> None:
    """A verdict on a gold image: the labels it leaves must equal the gold answer; a rejection is
    right exactly when the labels shown were not the gold ones."""
    answer = gold_service.gold_answer(session, image_id=image.id)  # type: ignore[arg-type]
    result = gold_service.grade(answer, tags=tags, boxes=boxes)
    if outcome == OUTCOME_REJECTED:
        correct = not result.correct
        verdict = "wrong labels" if correct else "correct labels"
        detail = f"rejected {verdict} ({result.detail})"
    else:
        correct = result.correct
        detail = f"{outcome}: {result.detail}"
    gold_service.record_gold_result(
        session,
        user=user,
        image_id=image.id,  # type: ignore[arg-type]
        context="review",
        correct=correct,
        detail=detail,
    )


def _verdict(
    session: Session,
    *,
    reviewer: User | None,
    image_id: str,
    base_revision: int,
    outcome: str,
    reason: str = "",
    edits: list[ann.BoxEdit] | None = None,
    tags: list[str] | None = None,
) -> ReviewOutcome:
    user = _require_reviewer(reviewer)
    image = _image(session, image_id)
    _reviewable(user, image)
    _check_revision(image, base_revision)
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.")
    gold = gold_service.is_gold(session, image_id=image.id)  # type: ignore[arg-type]
    changes: list[dict[str, Any]] = []
    revision_after: int | None = None
    if outcome == OUTCOME_FIXED:
        changes = ann._changes_for_edits(session, image, edits or [], tags)
        if not changes:
            raise InvalidInput(
                "Your fix changes nothing; accept the labels instead, or change a box or a tag."
            )
    if gold:
        shown_tags = ann.current_tags(session, image.id)  # type: ignore[arg-type]
        shown_boxes = ann.current_boxes(session, image.id)  # type: ignore[arg-type]
        if outcome == OUTCOME_FIXED:
            state = _replay(shown_tags, shown_boxes, changes)
            shown_tags, shown_boxes = state
        _grade_gold(
            session, user=user, image=image, outcome=outcome, tags=shown_tags, boxes=shown_boxes
        )
    elif outcome == OUTCOME_FIXED:
        ann._apply(session, actor=user, image=image, changes=changes)
        revision = ann._append_revision(
            session, actor=user, image=image, changes=changes, kind="review"
        )
        revision_after = revision.number
    requests = session.exec(
        select(ReviewRequest).where(
            ReviewRequest.image_id == image.id, col(ReviewRequest.resolved_at).is_(None)
        )
    ).all()
    review = Review(
        image_id=image.id,  # type: ignore[arg-type]
        reviewer_id=user.id,  # type: ignore[arg-type]
        producer_id=image.owner_id,
        outcome=outcome,
        reason=reason,
        revision_before=base_revision,
        revision_after=revision_after,
        changes=changes,
        gold=gold,
        request_id=requests[0].id if requests else None,
    )
    session.add(review)
    now = utcnow()
    for request in requests:
        request.resolved_at = now
        session.add(request)
    session.add(
        Operation(
            user_id=user.id,  # type: ignore[arg-type]
            image_id=image.id,  # type: ignore[arg-type]
            action={
                OUTCOME_ACCEPTED: "review_accept",
                OUTCOME_REJECTED: "review_reject",
                OUTCOME_FIXED: "review_fix",
            }[outcome],
            revision=revision_after or base_revision,
            payload={"op": f"review_{outcome}", "reason": reason, "changes": len(changes)},
        )
    )
    if not gold:
        session.flush()
        update_reputation(session, producer_id=image.owner_id)
    session.commit()
    return ReviewOutcome(review.public_id, outcome, image.revision, diff_lines(changes))


def _replay(
    tags: list[str], boxes: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    by_id = {b["id"]: b for b in boxes}
    tag_list = list(tags)
    for c in changes:
        if c["op"] == "add":
            by_id[c["box"]["id"]] = c["box"]
        elif c["op"] == "update":
            by_id[c["after"]["id"]] = c["after"]
        elif c["op"] == "remove":
            by_id.pop(c["box"]["id"], None)
        elif c["op"] == "tag_add" and c["label"] not in tag_list:
            tag_list.append(c["label"])
        elif c["op"] == "tag_remove" and c["label"] in tag_list:
            tag_list.remove(c["label"])
    return tag_list, list(by_id.values())


def accept(
    session: Session, *, reviewer: User | None, image_id: str, base_revision: int
) -> ReviewOutcome:
    """The labels are right as they are."""
    return _verdict(
        session,
        reviewer=reviewer,
        image_id=image_id,
        base_revision=base_revision,
        outcome=OUTCOME_ACCEPTED,
    )


def reject(
    session: Session, *, reviewer: User | None, image_id: str, base_revision: int, reason: str
) -> ReviewOutcome:
    """The labels are wrong; the reason (required) is shown to the producer."""
    if not reason.strip():
        raise InvalidInput("Say why you reject these labels; the producer will see your reason.")
    return _verdict(
        session,
        reviewer=reviewer,
        image_id=image_id,
        base_revision=base_revision,
        outcome=OUTCOME_REJECTED,
        reason=reason,
    )


def fix(
    session: Session,
    *,
    reviewer: User | None,
    image_id: str,
    base_revision: int,
    edits: list[ann.BoxEdit],
    tags: list[str] | None = None,
    reason: str = "",
) -> ReviewOutcome:
    """Correct the labels: the edits (and tags, when given) become the reviewer's revision."""
    return _verdict(
        session,
        reviewer=reviewer,
        image_id=image_id,
        base_revision=base_revision,
        outcome=OUTCOME_FIXED,
        reason=reason,
        edits=edits,
        tags=tags,
    )


# ------------------------------------------------------------------------------ reading
def reviews_for_producer(
    session: Session, *, producer: User | None, limit: int = 50, offset: int = 0
) -> list[ReviewRow]:
    """The producer's reviews, newest first (gold checks of reviewers are not theirs to see)."""
    if producer is None:
        raise NotAuthenticated("Sign in to see your reviews.")
    rows = session.exec(
        select(Review, Image.public_id, Image.file_name, User.pseudonym)
        .join(Image, col(Image.id) == col(Review.image_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .where(Review.producer_id == producer.id, col(Review.gold).is_(False))
        .order_by(col(Review.created_at).desc(), col(Review.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        ReviewRow(
            r.public_id, pid, name, r.outcome, r.reason, who, r.created_at, diff_lines(r.changes)
        )
        for r, pid, name, who in rows
    ]


def latest_reviews(session: Session, image_ids: list[int]) -> dict[int, Review]:
    """The newest non-gold review of each image (for lists of images)."""
    out: dict[int, Review] = {}
    if not image_ids:
        return out
    for review in session.exec(
        select(Review)
        .where(col(Review.image_id).in_(image_ids), col(Review.gold).is_(False))
        .order_by(col(Review.created_at), col(Review.id))
    ):
        out[review.image_id] = review
    return out
