"""Annotations: an image's boxes and tags, saved as revisions, with the operation log.

The editor sends finished edits (never mouse moves). ``save_annotations`` applies them in one
transaction after a revision check: a save based on an older revision than the image's current
one is refused, so a second editor never silently overwrites the first. Each save appends a
revision holding its changes; replaying revisions 1..N rebuilds any earlier state, and restoring
one makes a new revision. Every change also goes to the operation log.

Coordinates are original-image pixels, top-left origin (see models/annotations.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LabelHubError,
    NotAuthenticated,
    NotFound,
)
from labelhub_app.models import (
    SOURCE_HUMAN,
    SOURCE_MODEL,
    AnnotationRevision,
    Box,
    Image,
    ImageLabel,
    Label,
    Operation,
    SearchOutbox,
    User,
    utcnow,
)
from labelhub_app.services.labels import resolve_labels

MIN_SIDE_PX = 1.0
MAX_BOXES_PER_IMAGE = 5000
EditKind = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class BoxEdit:
    """One finished edit from the editor; ``box`` is the whole box after it (before, for delete)."""

    kind: EditKind
    box: dict[str, Any]


@dataclass(frozen=True)
class AnnotationView:
    image_id: str
    file_name: str
    width: int
    height: int
    revision: int
    boxes: list[dict[str, Any]]
    tags: list[str]
    owner_pseudonym: str
    may_edit: bool


@dataclass(frozen=True)
class SaveResult:
    revision: int
    summary: str
    boxes: int


@dataclass(frozen=True)
class RevisionRow:
    number: int
    author: str  # pseudonym
    created_at: datetime
    kind: str
    summary: str
    restored_from: int | None = None


# --- edits in the page: coalescing before a save ------------------------------------------------


def coalesce_edits(edits: Iterable[BoxEdit]) -> list[BoxEdit]:
    """Fold a sequence of edits into at most one per box, in first-seen order.

    create+update -> create (final geometry); create+delete -> nothing; update+update -> update;
    update+delete -> delete; delete+create (undo of a delete) -> update.
    """
    order: list[str] = []
    final: dict[str, BoxEdit | None] = {}
    for edit in edits:
        box_id = str(edit.box.get("id", ""))
        if box_id not in final:
            order.append(box_id)
            final[box_id] = edit
            continue
        prev = final[box_id]
        if prev is None:  # created then deleted earlier in this batch: a new create
            final[box_id] = BoxEdit("create", edit.box) if edit.kind != "delete" else None
        elif prev.kind == "create":
            final[box_id] = None if edit.kind == "delete" else BoxEdit("create", edit.box)
        elif prev.kind == "update":
            final[box_id] = (
                BoxEdit("delete", edit.box)
                if edit.kind == "delete"
                else BoxEdit("update", edit.box)
            )
        else:  # prev delete
            final[box_id] = (
                BoxEdit("update", edit.box)
                if edit.kind == "create"
                else BoxEdit("delete", edit.box)
            )
    return [e for i in order if (e := final[i]) is not None]


# --- access ---------------------------------------------------------------------------------------


def _image(session: Session, public_id: str) -> Image:
    image = session.exec(select(Image).where(Image.public_id == public_id)).first()
    if image is None:
        raise NotFound("This image does not exist.")
    return image


def may_edit(user: User | None, image: Image) -> bool:
    """Producers edit their own images; reviewers and admins may edit any."""
    return user is not None and (user.id == image.owner_id or user.is_reviewer or user.is_admin)


def _require_edit(user: User | None, image: Image) -> User:
    if user is None:
        raise NotAuthenticated("Sign in to label images.")
    if not may_edit(user, image):
        raise Forbidden("Only the image's producer or a reviewer can change its labels.")
    return user


def _require_view(session: Session, user: User | None, image: Image) -> User:
    if user is None:
        raise NotAuthenticated("Sign in to see an image's annotations.")
    from labelhub_app.services.images import may_view_original

    if may_edit(user, image) or may_view_original(session, image=image, viewer=user):
        return user
    raise Forbidden("Only the producer, reviewers and buyers can open this image in the editor.")


# --- reading --------------------------------------------------------------------------------------


def _box_dict(box: Box, label: str) -> dict[str, Any]:
    return {
        "id": box.public_id,
        "label": label,
        "x": box.x,
        "y": box.y,
        "w": box.w,
        "h": box.h,
        "source": box.source,
        "score": box.score,
    }


def current_boxes(
    session: Session, image_id: int, box_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """The image's boxes (only those with the given public ids, when given)."""
    query = (
        select(Box, Label.name)
        .join(Label, col(Label.id) == Box.label_id)
        .where(Box.image_id == image_id)
    )
    if box_ids is not None:
        query = query.where(col(Box.public_id).in_(box_ids))
    return [_box_dict(b, name) for b, name in session.exec(query.order_by(col(Box.id))).all()]


def current_tags(session: Session, image_id: int) -> list[str]:
    return list(
        session.exec(
            select(Label.name)
            .join(ImageLabel, col(ImageLabel.label_id) == Label.id)
            .where(ImageLabel.image_id == image_id)
            .order_by(Label.name)
        )
    )


def load_annotations(session: Session, *, actor: User | None, image_id: str) -> AnnotationView:
    image = _image(session, image_id)
    user = _require_view(session, actor, image)
    owner = session.get(User, image.owner_id)
    return AnnotationView(
        image.public_id,
        image.file_name,
        image.width,
        image.height,
        image.revision,
        current_boxes(session, image.id),
        current_tags(session, image.id),  # type: ignore[arg-type]
        owner.pseudonym if owner else "",
        may_edit(user, image),
    )


# --- saving ---------------------------------------------------------------------------------------


def _clean_box(raw: dict[str, Any], image: Image) -> dict[str, Any]:
    """Clip a box to the image and check it still has an area; the label is normalised later."""
    try:
        x, y, w, h = (float(raw[k]) for k in ("x", "y", "w", "h"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("A box needs numeric x, y, w and h.") from exc
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(image.width), x + w), min(float(image.height), y + h)
    if x1 - x0 < MIN_SIDE_PX or y1 - y0 < MIN_SIDE_PX:
        raise InvalidInput(
            "A box must cover some of the image (at least 1x1 pixel inside it); it was not saved."
        )
    box_id = str(raw.get("id") or "")
    if not 1 <= len(box_id) <= 36:
        raise InvalidInput("A box needs an id of 1-36 characters.")
    label = str(raw.get("label") or "").strip()
    if not label:
        raise InvalidInput("Give every box a label.")
    source = (
        raw.get("source") if raw.get("source") in (SOURCE_HUMAN, SOURCE_MODEL) else SOURCE_HUMAN
    )
    score = raw.get("score")
    return {
        "id": box_id,
        "label": label,
        "x": round(x0, 1),
        "y": round(y0, 1),
        "w": round(x1 - x0, 1),
        "h": round(y1 - y0, 1),
        "source": source,
        "score": float(score) if isinstance(score, int | float) else None,
    }


def _summary(changes: list[dict[str, Any]]) -> str:
    from labelhub_app.services.suggestions import decision_for

    counts: Counter[str] = Counter()
    for c in changes:
        decision = decision_for(c)
        if decision is not None:  # a suggestion accepted (maybe fixed too) or rejected
            counts["accepted" if decision == "accept" else "rejected"] += 1
        if decision == "reject":
            continue
        if c["op"] == "update":
            before, after = c["before"], c["after"]
            if before["label"] != after["label"]:
                counts["relabelled"] += 1
            if any(before[k] != after[k] for k in ("x", "y", "w", "h")):
                counts[
                    "moved" if (before["w"], before["h"]) == (after["w"], after["h"]) else "resized"
                ] += 1
        else:
            counts[
                {
                    "add": "added",
                    "remove": "removed",
                    "tag_add": "tags added",
                    "tag_remove": "tags removed",
                }[c["op"]]
            ] += 1
    order = (
        "accepted",
        "rejected",
        "added",
        "removed",
        "moved",
        "resized",
        "relabelled",
        "tags added",
        "tags removed",
    )
    parts = [f"{counts[k]} {k}" for k in order if counts[k]]
    return ", ".join(parts) or "no changes"


_ACTION = {
    "add": "create",
    "remove": "delete",
    "update": "update",
    "tag_add": "tag_add",
    "tag_remove": "tag_remove",
}


def _action(change: dict[str, Any]) -> str:
    """The operation-log action of a change: accept / reject for a decision on a suggestion."""
    from labelhub_app.services.suggestions import decision_for

    return decision_for(change) or _ACTION[change["op"]]


def _append_revision(
    session: Session,
    *,
    actor: User,
    image: Image,
    changes: list[dict[str, Any]],
    kind: str,
    save_key: str | None = None,
    restored_from: int | None = None,
) -> AnnotationRevision:
    """Write the revision row, its operation-log rows and bump the image's revision (no commit)."""
    number = image.revision + 1
    revision = AnnotationRevision(
        image_id=image.id,
        number=number,
        author_id=actor.id,
        kind=kind,  # type: ignore[arg-type]
        restored_from=restored_from,
        summary=_summary(changes),
        save_key=save_key,
        changes=changes,
    )
    session.add(revision)
    for change in changes:
        action = "restore" if kind == "restore" else _action(change)
        session.add(
            Operation(
                user_id=actor.id,
                image_id=image.id,
                action=action,  # type: ignore[arg-type]
                revision=number,
                payload=change,
            )
        )
    image.revision = number
    image.updated_at = utcnow()
    session.add(image)
    return revision


def _apply(session: Session, *, actor: User, image: Image, changes: list[dict[str, Any]]) -> None:
    """Make the box and tag rows match ``changes`` (no commit)."""
    names = (
        {c["box"]["label"] for c in changes if c["op"] in ("add",)}
        | {c["after"]["label"] for c in changes if c["op"] == "update"}
        | {c["label"] for c in changes if c["op"] in ("tag_add", "tag_remove")}
    )
    labels = {lb.name: lb for lb in resolve_labels(session, names=names, actor=actor, create=True)}
    existing = {
        b.public_id: b
        for b in session.exec(
            select(Box).where(
                Box.image_id == image.id,
                col(Box.public_id).in_(
                    [
                        c["box"]["id"] if c["op"] != "update" else c["after"]["id"]
                        for c in changes
                        if c["op"] in ("add", "remove", "update")
                    ]
                ),
            )
        )
    }
    now = utcnow()
    for c in changes:
        if c["op"] == "add":
            b = c["box"]
            session.add(
                Box(
                    public_id=b["id"],
                    image_id=image.id,
                    label_id=labels[b["label"]].id,  # type: ignore[arg-type]
                    x=b["x"],
                    y=b["y"],
                    w=b["w"],
                    h=b["h"],
                    author_id=actor.id,  # type: ignore[arg-type]
                    source=b["source"],
                    score=b["score"],
                    created_at=now,
                    updated_at=now,
                )
            )
        elif c["op"] == "update":
            row, a = existing[c["after"]["id"]], c["after"]
            row.label_id = labels[a["label"]].id  # type: ignore[assignment]
            row.x, row.y, row.w, row.h = a["x"], a["y"], a["w"], a["h"]
            row.source, row.score, row.updated_at = a["source"], a["score"], now
            session.add(row)
        elif c["op"] == "remove":
            session.delete(existing[c["box"]["id"]])
        elif c["op"] == "tag_add":
            session.add(
                ImageLabel(image_id=image.id, label_id=labels[c["label"]].id, added_by_id=actor.id)
            )  # type: ignore[arg-type]
        elif c["op"] == "tag_remove":
            row = session.get(ImageLabel, (image.id, labels[c["label"]].id))
            if row is not None:
                session.delete(row)
    if any(c["op"] in ("tag_add", "tag_remove") for c in changes):
        session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]


def _changes_for_edits(
    session: Session, image: Image, edits: list[BoxEdit], tags: list[str] | None
) -> list[dict[str, Any]]:
    edits = coalesce_edits(edits)
    touched = [str(e.box.get("id", "")) for e in edits]
    current = {b["id"]: b for b in current_boxes(session, image.id, touched)}  # type: ignore[arg-type]
    count = _count_boxes(session, image.id)  # type: ignore[arg-type]
    have = current_tags(session, image.id) if tags is not None else []  # type: ignore[arg-type]
    changes, _ = _compute_changes(image, edits, tags, current, count, have)
    return changes


def _compute_changes(
    image: Any,
    edits: list[BoxEdit],
    tags: list[str] | None,
    current: dict[str, dict[str, Any]],
    count: int,
    have_tags: list[str],
) -> tuple[list[dict[str, Any]], int]:
    """The changes that coalesced ``edits`` (and ``tags``, when given) make; pure, no queries.

    ``current``: the image's boxes by public id (at least those the edits touch; popped from);
    ``count``: its number of boxes; ``have_tags``: its tags, sorted by name. ``image`` needs
    ``width`` and ``height``. Returns the changes and the number of boxes after them; raises
    InvalidInput for a bad box, label or too many boxes.
    """
    from labelhub_app.services.labels import check_label_name

    changes: list[dict[str, Any]] = []
    for edit in edits:
        if edit.kind == "delete":
            box_id = str(edit.box.get("id", ""))
            if box_id in current:
                changes.append({"op": "remove", "box": current.pop(box_id)})
                count -= 1
            continue
        box = _clean_box(edit.box, image)
        box["label"] = check_label_name(box["label"])
        before = current.get(box["id"])
        if before is None:
            changes.append({"op": "add", "box": box})
            current[box["id"]] = box
            count += 1
        elif before != box:
            changes.append({"op": "update", "before": before, "after": box})
            current[box["id"]] = box
    if count > MAX_BOXES_PER_IMAGE:
        raise InvalidInput(f"An image can hold at most {MAX_BOXES_PER_IMAGE:,} boxes.")
    if tags is not None:
        wanted = list(dict.fromkeys(check_label_name(t) for t in tags))
        changes += [{"op": "tag_add", "label": t} for t in wanted if t not in have_tags]
        changes += [{"op": "tag_remove", "label": t} for t in have_tags if t not in wanted]
    return changes, count


def _stale(session: Session, image: Image, base_revision: int) -> Conflict:
    latest = session.exec(
        select(AnnotationRevision, User.pseudonym)
        .join(User, col(User.id) == AnnotationRevision.author_id)
        .where(AnnotationRevision.image_id == image.id)
        .order_by(col(AnnotationRevision.number).desc())
    ).first()
    who = f" by {latest[1]}" if latest else ""
    return Conflict(
        f"This image was saved{who} (revision {image.revision}) after you opened it at revision "
        f"{base_revision}. Reload to see those changes; your unsaved edits stay in the page."
    )


def save_annotations(
    session: Session,
    *,
    actor: User | None,
    image_id: str,
    base_revision: int,
    edits: list[BoxEdit],
    tags: list[str] | None = None,
    save_key: str | None = None,
) -> SaveResult:
    """Apply the editor's edits (and the image tags, when given) as one new revision."""
    image = _image(session, image_id)
    user = _require_edit(actor, image)
    if save_key:
        done = session.exec(
            select(AnnotationRevision).where(AnnotationRevision.save_key == save_key)
        ).first()
        if done is not None:
            return SaveResult(done.number, done.summary, _count_boxes(session, image.id))  # type: ignore[arg-type]
    if base_revision != image.revision:
        raise _stale(session, image, base_revision)
    changes = _changes_for_edits(session, image, edits, tags)
    if not changes:
        return SaveResult(image.revision, "no changes", _count_boxes(session, image.id))  # type: ignore[arg-type]
    from labelhub_app.services.suggestions import record_decisions

    record_decisions(session, actor=user, image=image, changes=changes)  # accepts and rejects
    _apply(session, actor=user, image=image, changes=changes)
    revision = _append_revision(
        session, actor=user, image=image, changes=changes, kind="edit", save_key=save_key
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        session.refresh(image)
        raise _stale(session, image, base_revision) from None
    return SaveResult(revision.number, revision.summary, _count_boxes(session, image.id))  # type: ignore[arg-type]


def _count_boxes(session: Session, image_id: int) -> int:
    return int(
        session.exec(select(func.count()).select_from(Box).where(Box.image_id == image_id)).one()
    )


# --- saving many images at once (imports) -------------------------------------------------------

BATCH_CHUNK = 500


@dataclass(frozen=True)
class BatchItem:
    """One image's save in :func:`save_annotations_batch`.

    ``image``: the Image row or its public id. ``base_revision``: the revision the edits are
    based on; None means "whatever is current" (no revision check).
    """

    image: Image | str
    edits: list[BoxEdit]
    tags: list[str] | None = None
    base_revision: int | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one item: ``result`` when saved (or unchanged), else ``error``."""

    image_id: str
    result: SaveResult | None = None
    error: LabelHubError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Target:
    id: int
    public_id: str
    owner_id: int
    width: int
    height: int
    revision: int


def save_annotations_batch(
    session: Session, *, actor: User | None, items: list[BatchItem], chunk_size: int = BATCH_CHUNK
) -> list[BatchOutcome]:
    """Save many images' edits, each as one new revision, with the rules of save_annotations.

    Revision numbers, summaries, changes and operation-log rows are the ones that one
    ``save_annotations`` call per item would write, in item order. A bad item (unknown image,
    not the actor's to edit, stale ``base_revision``, invalid box or label) gets an outcome with
    its error and is skipped; the others land. Works in chunks of ``chunk_size`` images: a few
    IN (...) queries to read, bulk inserts/updates to write, one commit per chunk. An image
    named twice is saved twice, in order (the second in a later chunk). Returns one outcome
    per item, in order.
    """
    if actor is None:
        raise NotAuthenticated("Sign in to label images.")
    outcomes: list[BatchOutcome | None] = [None] * len(items)
    chunk: list[int] = []
    keys: set[str] = set()
    for index, item in enumerate(items):
        key = item.image.public_id if isinstance(item.image, Image) else str(item.image)
        if key in keys or len(chunk) >= max(1, chunk_size):
            _save_chunk(session, actor, items, chunk, outcomes)
            chunk, keys = [], set()
        chunk.append(index)
        keys.add(key)
    if chunk:
        _save_chunk(session, actor, items, chunk, outcomes)
    return [o for o in outcomes if o is not None]


def _save_chunk(
    session: Session,
    actor: User,
    items: list[BatchItem],
    indices: list[int],
    outcomes: list[BatchOutcome | None],
) -> None:
    """Save the items at ``indices`` (each image at most once) in one transaction."""
    from sqlalchemy import delete, insert, tuple_, update

    def key(i: int) -> str:
        image = items[i].image
        return image.public_id if isinstance(image, Image) else str(image)

    rows = session.exec(
        select(
            Image.id, Image.public_id, Image.owner_id, Image.width, Image.height, Image.revision
        ).where(col(Image.public_id).in_([key(i) for i in indices]))
    ).all()
    targets = {r[1]: _Target(*r) for r in rows}

    live: list[tuple[int, _Target]] = []
    for i in indices:
        target = targets.get(key(i))
        try:
            if target is None:
                raise NotFound("This image does not exist.")
            _require_edit(actor, target)  # type: ignore[arg-type]
            base = items[i].base_revision
            if base is not None and base != target.revision:
                raise _stale(session, target, base)  # type: ignore[arg-type]
        except LabelHubError as exc:
            outcomes[i] = BatchOutcome(key(i), error=exc)
            continue
        live.append((i, target))
    if not live:
        return

    ids = [t.id for _, t in live]
    boxes: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in ids}
    box_pk: dict[tuple[int, str], int] = {}
    for pk, image_id, public_id, name, x, y, w, h, source, score in session.exec(
        select(
            Box.id,
            Box.image_id,
            Box.public_id,
            Label.name,
            Box.x,
            Box.y,
            Box.w,
            Box.h,
            Box.source,
            Box.score,
        )
        .join(Label, col(Label.id) == Box.label_id)
        .where(col(Box.image_id).in_(ids))
        .order_by(col(Box.id))
    ):
        boxes[image_id][public_id] = {
            "id": public_id,
            "label": name,
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "source": source,
            "score": score,
        }
        box_pk[(image_id, public_id)] = pk
    tags: dict[int, list[str]] = {i: [] for i in ids}
    for image_id, name in session.exec(
        select(ImageLabel.image_id, Label.name)
        .join(Label, col(Label.id) == ImageLabel.label_id)
        .where(col(ImageLabel.image_id).in_(ids))
        .order_by(Label.name)
    ):
        tags[image_id].append(name)

    planned: list[tuple[int, _Target, list[dict[str, Any]], int]] = []
    for i, target in live:
        item = items[i]
        try:
            count = len(boxes[target.id])
            changes, count = _compute_changes(
                target,
                coalesce_edits(item.edits),
                item.tags,
                boxes[target.id],
                count,
                tags[target.id],
            )
        except LabelHubError as exc:
            outcomes[i] = BatchOutcome(target.public_id, error=exc)
            continue
        if not changes:
            outcomes[i] = BatchOutcome(
                target.public_id, SaveResult(target.revision, "no changes", count)
            )
            continue
        planned.append((i, target, changes, count))
    if not planned:
        return

    names = (
        {c["box"]["label"] for _, _, cs, _ in planned for c in cs if c["op"] == "add"}
        | {c["after"]["label"] for _, _, cs, _ in planned for c in cs if c["op"] == "update"}
        | {
            c["label"]
            for _, _, cs, _ in planned
            for c in cs
            if c["op"] in ("tag_add", "tag_remove")
        }
    )
    label_ids = {
        lb.name: lb.id for lb in resolve_labels(session, names=names, actor=actor, create=True)
    }

    now = utcnow()
    new_boxes: list[dict[str, Any]] = []
    box_updates: list[dict[str, Any]] = []
    box_deletes: list[int] = []
    tag_inserts: list[dict[str, Any]] = []
    tag_deletes: list[tuple[int, int]] = []
    revisions: list[dict[str, Any]] = []
    operations: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    image_updates: list[dict[str, Any]] = []
    for i, target, changes, count in planned:
        number = target.revision + 1
        for c in changes:
            op = c["op"]
            if op == "add":
                b = c["box"]
                new_boxes.append(
                    {
                        "public_id": b["id"],
                        "image_id": target.id,
                        "label_id": label_ids[b["label"]],
                        "x": b["x"],
                        "y": b["y"],
                        "w": b["w"],
                        "h": b["h"],
                        "author_id": actor.id,
                        "source": b["source"],
                        "score": b["score"],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            elif op == "update":
                a = c["after"]
                box_updates.append(
                    {
                        "id": box_pk[(target.id, a["id"])],
                        "label_id": label_ids[a["label"]],
                        "x": a["x"],
                        "y": a["y"],
                        "w": a["w"],
                        "h": a["h"],
                        "source": a["source"],
                        "score": a["score"],
                        "updated_at": now,
                    }
                )
            elif op == "remove":
                box_deletes.append(box_pk[(target.id, c["box"]["id"])])
            elif op == "tag_add":
                tag_inserts.append(
                    {
                        "image_id": target.id,
                        "label_id": label_ids[c["label"]],
                        "added_by_id": actor.id,
                        "created_at": now,
                    }
                )
            else:
                tag_deletes.append((target.id, label_ids[c["label"]]))
            operations.append(
                {
                    "user_id": actor.id,
                    "image_id": target.id,
                    "action": _action(c),
                    "revision": number,
                    "payload": c,
                    "created_at": now,
                }
            )
        if any(c["op"] in ("tag_add", "tag_remove") for c in changes):
            outbox.append({"image_id": target.id, "created_at": now})
        summary = _summary(changes)
        revisions.append(
            {
                "image_id": target.id,
                "number": number,
                "author_id": actor.id,
                "kind": "edit",
                "restored_from": None,
                "summary": summary,
                "save_key": None,
                "changes": changes,
                "created_at": now,
            }
        )
        image_updates.append({"id": target.id, "revision": number, "updated_at": now})
        outcomes[i] = BatchOutcome(target.public_id, SaveResult(number, summary, count))

    try:
        for start in range(0, len(box_deletes), BATCH_CHUNK):
            session.execute(
                delete(Box).where(col(Box.id).in_(box_deletes[start : start + BATCH_CHUNK])),
                execution_options={"synchronize_session": False},
            )
        for start in range(0, len(tag_deletes), BATCH_CHUNK):
            session.execute(
                delete(ImageLabel).where(
                    tuple_(col(ImageLabel.image_id), col(ImageLabel.label_id)).in_(
                        tag_deletes[start : start + BATCH_CHUNK]
                    )
                ),
                execution_options={"synchronize_session": False},
            )
        if box_updates:
            session.execute(update(Box), box_updates)
        for table, values in (
            (Box, new_boxes),
            (ImageLabel, tag_inserts),
            (AnnotationRevision, revisions),
            (Operation, operations),
            (SearchOutbox, outbox),
        ):
            if values:
                session.execute(insert(table), values)
        session.execute(update(Image), image_updates)
        session.commit()
    except IntegrityError:
        # Someone saved one of these images meanwhile (or a box id is taken): redo one by one,
        # so that only the items concerned are refused.
        session.rollback()
        if len(indices) == 1:
            i = indices[0]
            target = targets[key(i)]
            base = items[i].base_revision
            opened = target.revision if base is None else base
            target.revision = session.exec(
                select(Image.revision).where(Image.id == target.id)
            ).one()
            outcomes[i] = BatchOutcome(target.public_id, error=_stale(session, target, opened))  # type: ignore[arg-type]
            return
        for i in indices:
            outcomes[i] = None
        for i in indices:
            _save_chunk(session, actor, items, [i], outcomes)
        return
    session.expire_all()  # ORM rows of these images, boxes and tags were changed behind the session's back


def record_tag_change(
    session: Session,
    *,
    actor: User,
    image: Image,
    added: list[str],
    removed: list[str],
    kind: str = "edit",
) -> None:
    """A revision for tags changed outside the editor (upload, dashboard); no commit."""
    changes = [{"op": "tag_add", "label": t} for t in added] + [
        {"op": "tag_remove", "label": t} for t in removed
    ]
    if changes:
        _append_revision(session, actor=actor, image=image, changes=changes, kind=kind)


# --- history ------------------------------------------------------------------------------------


def list_revisions(
    session: Session, *, actor: User | None, image_id: str, limit: int = 200
) -> list[RevisionRow]:
    image = _image(session, image_id)
    _require_view(session, actor, image)
    rows = session.exec(
        select(AnnotationRevision, User.pseudonym)
        .join(User, col(User.id) == AnnotationRevision.author_id)
        .where(AnnotationRevision.image_id == image.id)
        .order_by(col(AnnotationRevision.number).desc())
        .limit(limit)
    ).all()
    return [
        RevisionRow(r.number, who, r.created_at, r.kind, r.summary, r.restored_from)
        for r, who in rows
    ]


@dataclass(frozen=True)
class AnnotationState:
    revision: int
    boxes: list[dict[str, Any]]
    tags: list[str] = field(default_factory=list)


def state_at(session: Session, image: Image, number: int) -> AnnotationState:
    """The boxes and tags as they were after revision ``number`` (replaying 1..number)."""
    if not 0 <= number <= image.revision:
        raise NotFound(f"This image has no revision {number}.")
    boxes: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for changes in session.exec(
        select(AnnotationRevision.changes)
        .where(AnnotationRevision.image_id == image.id, AnnotationRevision.number <= number)
        .order_by(col(AnnotationRevision.number))
    ):
        for c in changes:
            if c["op"] == "add":
                boxes[c["box"]["id"]] = c["box"]
            elif c["op"] == "update":
                boxes[c["after"]["id"]] = c["after"]
            elif c["op"] == "remove":
                boxes.pop(c["box"]["id"], None)
            elif c["op"] == "tag_add" and c["label"] not in tags:
                tags.append(c["label"])
            elif c["op"] == "tag_remove" and c["label"] in tags:
                tags.remove(c["label"])
    return AnnotationState(number, list(boxes.values()), sorted(tags))


def preview_revision(
    session: Session, *, actor: User | None, image_id: str, number: int
) -> AnnotationState:
    image = _image(session, image_id)
    _require_view(session, actor, image)
    return state_at(session, image, number)


def restore_revision(
    session: Session, *, actor: User | None, image_id: str, number: int, base_revision: int
) -> SaveResult:
    """Make revision ``number``'s boxes and tags current again, as a new revision."""
    image = _image(session, image_id)
    user = _require_edit(actor, image)
    if base_revision != image.revision:
        raise _stale(session, image, base_revision)
    target = state_at(session, image, number)
    current = {b["id"]: b for b in current_boxes(session, image.id)}  # type: ignore[arg-type]
    wanted = {b["id"]: b for b in target.boxes}
    changes: list[dict[str, Any]] = [
        {"op": "remove", "box": b} for i, b in current.items() if i not in wanted
    ]
    for box_id, box in wanted.items():
        if box_id not in current:
            changes.append({"op": "add", "box": box})
        elif current[box_id] != box:
            changes.append({"op": "update", "before": current[box_id], "after": box})
    have = current_tags(session, image.id)  # type: ignore[arg-type]
    changes += [{"op": "tag_add", "label": t} for t in target.tags if t not in have]
    changes += [{"op": "tag_remove", "label": t} for t in have if t not in target.tags]
    if not changes:
        return SaveResult(image.revision, "no changes", len(current))
    _apply(session, actor=user, image=image, changes=changes)
    revision = _append_revision(
        session, actor=user, image=image, changes=changes, kind="restore", restored_from=number
    )
    session.commit()
    return SaveResult(
        revision.number, f"restored revision {number}: {revision.summary}", len(wanted)
    )


# --- the labelling stream -------------------------------------------------------------------------

StreamStatus = Literal["unlabelled", "no_boxes", "all"]


@dataclass(frozen=True)
class StreamFilter:
    status: StreamStatus = (
        "no_boxes"  # unlabelled: no tags and no boxes; no_boxes: partly labelled too
    )
    label: str | None = None  # images carrying this tag or a box with it
    since: datetime | None = None  # uploaded at or after
    until: datetime | None = None  # uploaded before


def stream_images(
    session: Session,
    *,
    actor: User | None,
    flt: StreamFilter,
    after: str | None = None,
    limit: int = 2,
) -> list[str]:
    """The producer's next images to label (public ids), oldest upload first, after ``after``."""
    if actor is None:
        raise NotAuthenticated("Sign in to label images.")
    query = select(Image.public_id, Image.created_at, Image.id).where(Image.owner_id == actor.id)
    has_box = select(Box.image_id).where(Box.image_id == Image.id).exists()
    has_tag = select(ImageLabel.image_id).where(ImageLabel.image_id == Image.id).exists()
    if flt.status == "unlabelled":
        query = query.where(~has_box, ~has_tag)
    elif flt.status == "no_boxes":
        query = query.where(~has_box)
    if flt.label:
        from labelhub_app.services.labels import normalise_label

        label_id = (
            select(Label.id).where(Label.name == normalise_label(flt.label)).scalar_subquery()
        )
        query = query.where(
            select(ImageLabel.image_id)
            .where(ImageLabel.image_id == Image.id, ImageLabel.label_id == label_id)
            .exists()
            | select(Box.image_id)
            .where(Box.image_id == Image.id, Box.label_id == label_id)
            .exists()
        )
    if flt.since:
        query = query.where(Image.created_at >= flt.since)
    if flt.until:
        query = query.where(Image.created_at < flt.until)
    if after:
        current = session.exec(
            select(Image.created_at, Image.id).where(Image.public_id == after)
        ).first()
        if current is not None:
            created, cid = current
            query = query.where(
                (col(Image.created_at) > created)
                | ((col(Image.created_at) == created) & (col(Image.id) > cid))
            )
    rows = session.exec(query.order_by(col(Image.created_at), col(Image.id)).limit(limit)).all()
    return [r[0] for r in rows]


def frequent_labels(session: Session, *, actor: User, limit: int = 9) -> list[str]:
    """The labels this person used most on boxes and tags of their images (for the label keys)."""
    boxes = session.exec(
        select(Label.name, func.count())
        .join(Box, col(Box.label_id) == Label.id)
        .where(Box.author_id == actor.id)
        .group_by(Label.name)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    tags = session.exec(
        select(Label.name, func.count())
        .join(ImageLabel, col(ImageLabel.label_id) == Label.id)
        .join(Image, col(Image.id) == ImageLabel.image_id)
        .where(Image.owner_id == actor.id)
        .group_by(Label.name)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    counts: Counter[str] = Counter()
    for name, n in [*boxes, *tags]:
        counts[name] += int(n)
    return [name for name, _ in counts.most_common(limit)]
