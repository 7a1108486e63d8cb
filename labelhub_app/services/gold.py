"""Gold items: images whose labels a reviewer or admin verified, used to check people unannounced.

Marking an image as gold takes a snapshot of its current tags and boxes (the gold answer). Gold
images are mixed into the review queue (services/reviews.py) and into campaigns' tiled tasks
(services/campaigns.py, through ``gold_images_for`` / ``gold_answer`` / ``record_gold_result``);
each answer is graded and kept, and every person sees their own accuracy.

Grading (``grade``): tags by exact set match (per-tag counts in the detail); boxes by matching
each gold box to at most one answered box of the same label with IoU >= 0.5 (greedy, best IoU
first); correct when the tags match exactly and every gold box is matched with no extra boxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from labelhub_app.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import GoldItem, GoldResult, Image, Operation, User, utcnow
from labelhub_app.models.reviews import GOLD_CONTEXTS
from labelhub_app.services.annotations import current_boxes, current_tags

IOU_MATCH = 0.5
RECENT = timedelta(days=30)  # a gold image is not shown again to someone who answered it lately


@dataclass(frozen=True)
class GoldAnswer:
    image_id: int
    public_id: str
    tags: list[str]
    boxes: list[dict[str, Any]]  # {"label", "x", "y", "w", "h"}


@dataclass(frozen=True)
class GoldResultRow:
    created_at: datetime
    context: str
    correct: bool
    detail: str


@dataclass(frozen=True)
class GoldStats:
    answered: int
    correct: int
    by_context: dict[str, tuple[int, int]] = field(default_factory=dict)  # context -> (correct, n)
    recent: list[GoldResultRow] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class Grade:
    correct: bool
    detail: str
    tags_right: int
    tags_total: int
    boxes_matched: int
    boxes_total: int
    boxes_extra: int


# ------------------------------------------------------------------------------ grading
def iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    ax1, ay1 = float(a["x"]) + float(a["w"]), float(a["y"]) + float(a["h"])
    bx1, by1 = float(b["x"]) + float(b["w"]), float(b["y"]) + float(b["h"])
    iw = min(ax1, bx1) - max(float(a["x"]), float(b["x"]))
    ih = min(ay1, by1) - max(float(a["y"]), float(b["y"]))
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = float(a["w"]) * float(a["h"]) + float(b["w"]) * float(b["h"]) - inter
    return inter / union if union > 0 else 0.0


def match_boxes(
    gold: Sequence[dict[str, Any]], answer: Sequence[dict[str, Any]], threshold: float = IOU_MATCH
) -> list[tuple[int, int]]:
    """Pairs (gold index, answer index) of same-label boxes with IoU >= threshold, greedy by IoU."""
    candidates = sorted(
        (
            (iou(g, a), gi, ai)
            for gi, g in enumerate(gold)
            for ai, a in enumerate(answer)
            if g.get("label") == a.get("label")
        ),
        reverse=True,
    )
    used_g: set[int] = set()
    used_a: set[int] = set()
    pairs = []
    for value, gi, ai in candidates:
        if value < threshold:
            break
        if gi in used_g or ai in used_a:
            continue
        used_g.add(gi)
        used_a.add(ai)
        pairs.append((gi, ai))
    return pairs


def grade(
    answer: GoldAnswer,
    *,
    tags: Iterable[str] | None,
    boxes: Sequence[dict[str, Any]] | None,
) -> Grade:
    """Grade an answer against the gold one; ``None`` leaves that part out of the grading."""
    parts: list[str] = []
    correct = True
    tags_right = tags_total = matched = boxes_total = extra = 0
    if tags is not None:
        given, wanted = set(tags), set(answer.tags)
        universe = given | wanted
        tags_total = len(universe)
        tags_right = sum(1 for t in universe if (t in given) == (t in wanted))
        correct &= given == wanted
        missing, wrong = sorted(wanted - given), sorted(given - wanted)
        text = f"tags {tags_right}/{tags_total} right" if tags_total else "no tags, as expected"
        if missing:
            text += f"; missed {', '.join(missing)}"
        if wrong:
            text += f"; wrongly added {', '.join(wrong)}"
        parts.append(text)
    if boxes is not None:
        pairs = match_boxes(answer.boxes, boxes)
        matched, boxes_total = len(pairs), len(answer.boxes)
        extra = len(boxes) - matched
        correct &= matched == boxes_total and extra == 0
        text = f"boxes {matched}/{boxes_total} matched (IoU >= {IOU_MATCH})"
        if extra:
            text += f"; {extra} extra"
        parts.append(text)
    return Grade(correct, "; ".join(parts), tags_right, tags_total, matched, boxes_total, extra)


# ------------------------------------------------------------------------------ gold items
def _image(session: Session, public_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == public_id)).first()
    if image is None:
        raise NotFound("This image does not exist.")
    return image


def _require_verifier(actor: User | None) -> User:
    if actor is None:
        raise NotAuthenticated("Sign in to mark gold images.")
    if not (actor.is_reviewer or actor.is_admin):
        raise Forbidden("Only reviewers and admins can mark images as gold.")
    return actor


def mark_gold(session: Session, *, actor: User | None, image_id: str) -> GoldItem:
    """Snapshot the image's current tags and boxes as its verified (gold) labels."""
    user = _require_verifier(actor)
    image = _image(session, image_id)
    tags = current_tags(session, image.id)  # type: ignore[arg-type]
    boxes = [
        {k: b[k] for k in ("label", "x", "y", "w", "h")}
        for b in current_boxes(session, image.id)  # type: ignore[arg-type]
    ]
    if not tags and not boxes:
        raise InvalidInput("This image has no labels yet; label it before marking it as gold.")
    item = session.exec(select(GoldItem).where(GoldItem.image_id == image.id)).first()
    if item is None:
        item = GoldItem(image_id=image.id, marked_by_id=user.id)  # type: ignore[arg-type]
    item.tags, item.boxes, item.revision = tags, boxes, image.revision
    item.marked_by_id, item.active = user.id, True  # type: ignore[assignment]
    session.add(item)
    session.add(
        Operation(
            user_id=user.id,  # type: ignore[arg-type]
            image_id=image.id,  # type: ignore[arg-type]
            action="gold_mark",
            revision=image.revision,
            payload={"op": "gold_mark", "tags": tags, "boxes": len(boxes)},
        )
    )
    session.commit()
    session.refresh(item)
    return item


def unmark_gold(session: Session, *, actor: User | None, image_id: str) -> None:
    user = _require_verifier(actor)
    image = _image(session, image_id)
    item = session.exec(select(GoldItem).where(GoldItem.image_id == image.id)).first()
    if item is None or not item.active:
        raise NotFound("This image is not a gold image.")
    item.active = False
    session.add(item)
    session.add(
        Operation(
            user_id=user.id,  # type: ignore[arg-type]
            image_id=image.id,  # type: ignore[arg-type]
            action="gold_unmark",
            revision=image.revision,
            payload={"op": "gold_unmark"},
        )
    )
    session.commit()


def gold_item_for(session: Session, image_id: int) -> GoldItem | None:
    """The active gold item of an image, if it is one."""
    return session.exec(
        select(GoldItem).where(GoldItem.image_id == image_id, col(GoldItem.active).is_(True))
    ).first()


def is_gold(session: Session, *, image_id: int) -> bool:
    return gold_item_for(session, image_id) is not None


def gold_images_for(
    session: Session, *, user: User, limit: int, exclude_image_ids: Iterable[int] = ()
) -> list[Image]:
    """Active gold images this user does not own and has not answered within ``RECENT``, random."""
    if limit <= 0:
        return []
    answered = select(GoldResult.image_id).where(
        GoldResult.user_id == user.id, GoldResult.created_at >= utcnow() - RECENT
    )
    query = (
        select(Image)
        .join(GoldItem, col(GoldItem.image_id) == col(Image.id))
        .where(
            col(GoldItem.active).is_(True),
            Image.owner_id != user.id,
            col(Image.id).not_in(answered),
        )
    )
    excluded = list(exclude_image_ids)
    if excluded:
        query = query.where(col(Image.id).not_in(excluded))
    return list(session.exec(query.order_by(func.random()).limit(limit)).all())


def gold_answer(session: Session, *, image_id: int) -> GoldAnswer:
    """The verified tags and boxes of a gold image."""
    item = gold_item_for(session, image_id)
    if item is None:
        raise NotFound("This image is not a gold image.")
    image = session.get(Image, image_id)
    assert image is not None
    return GoldAnswer(image_id, image.public_id, list(item.tags), [dict(b) for b in item.boxes])


def record_gold_result(
    session: Session,
    *,
    user: User,
    image_id: int,
    context: str,
    correct: bool,
    detail: str = "",
) -> None:
    """Keep one graded answer on a gold image (no commit: part of the caller's transaction)."""
    if context not in GOLD_CONTEXTS:
        choices = ", ".join(GOLD_CONTEXTS)
        raise InvalidInput(f"Unknown gold context {context!r}; use one of {choices}.")
    item = gold_item_for(session, image_id)
    if item is None:
        raise NotFound("This image is not a gold image.")
    session.add(
        GoldResult(
            gold_item_id=item.id,  # type: ignore[arg-type]
            image_id=image_id,
            user_id=user.id,  # type: ignore[arg-type]
            context=context,
            correct=correct,
            detail=detail[:500],
        )
    )


def gold_accuracy(session: Session, *, user: User, recent: int = 10) -> GoldStats:
    """This person's answers on gold images: overall, per context, and the latest few."""
    by_context: dict[str, tuple[int, int]] = {}
    answered = right = 0
    for context, is_correct, count in session.exec(
        select(GoldResult.context, GoldResult.correct, func.count())
        .where(GoldResult.user_id == user.id)
        .group_by(GoldResult.context, GoldResult.correct)
    ):
        good, total = by_context.get(context, (0, 0))
        by_context[context] = (good + (count if is_correct else 0), total + count)
        answered += count
        right += count if is_correct else 0
    rows = session.exec(
        select(GoldResult)
        .where(GoldResult.user_id == user.id)
        .order_by(col(GoldResult.created_at).desc(), col(GoldResult.id).desc())
        .limit(recent)
    ).all()
    return GoldStats(
        answered,
        right,
        by_context,
        [GoldResultRow(r.created_at, r.context, r.correct, r.detail) for r in rows],
    )
