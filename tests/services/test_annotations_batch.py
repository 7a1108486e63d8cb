"""save_annotations_batch: the same boxes, tags, revisions and operation log as one
save_annotations call per image, with bad items refused one by one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import AnnotationRevision, Image, Operation, SearchOutbox, User
from labelhub_app.services import annotations as ann
from labelhub_app.services.annotations import BatchItem, BoxEdit
from tests.factories import make_image, make_user


def box(
    i: str,
    label: str = "dog",
    x: float = 10,
    y: float = 20,
    w: float = 30,
    h: float = 40,
    **kw: Any,
) -> dict[str, Any]:
    return {"id": i, "label": label, "x": x, "y": y, "w": w, "h": h, **kw}


def steps(p: str, n: int) -> list[tuple[list[BoxEdit], list[str] | None]]:
    """Saves for image number ``n``; box ids start with ``p`` (box ids are unique site-wide)."""
    p = f"{p}{n}-"
    return [
        (  # creates (one clipped, one coalesced away, one by a model), tags
            [
                BoxEdit("create", box(f"{p}a", x=-10 - n, y=200, w=50, h=100)),
                BoxEdit("create", box(f"{p}b", "Cat", x=100 + n)),
                BoxEdit("create", box(f"{p}c", "bird")),
                BoxEdit("delete", box(f"{p}c", "bird")),
                BoxEdit("create", box(f"{p}d", "New Thing", source="model", score=0.5)),
            ],
            ["dog", f"Tag {n}", "park"],
        ),
        (  # move, resize, relabel, delete, a no-op update, tag removal
            [
                BoxEdit("update", box(f"{p}a", x=5, y=200, w=50, h=100)),
                BoxEdit("update", box(f"{p}b", "cat", x=100 + n, w=60)),
                BoxEdit("update", box(f"{p}d", "car", source="model", score=0.5)),
                BoxEdit("update", box(f"{p}d", "bus", source="model", score=0.5)),
                BoxEdit("delete", box(f"{p}zz")),
            ],
            ["park"],
        ),
        (
            [
                BoxEdit("delete", box(f"{p}a")),
                BoxEdit("update", box(f"{p}b", "cat", x=100 + n, w=60)),
            ],
            None,
        ),
        ([], ["park"]),  # nothing changes
    ]


def _strip(value: Any, p: str) -> Any:
    """Box ids without their prefix, so both halves compare equal."""
    if isinstance(value, dict):
        return {
            k: (v.removeprefix(p) if k == "id" and isinstance(v, str) else _strip(v, p))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_strip(v, p) for v in value]
    return value


def _state(session: Session, image: Image, p: str) -> dict[str, Any]:
    session.expire_all()
    revisions = session.exec(
        select(AnnotationRevision)
        .where(AnnotationRevision.image_id == image.id)
        .order_by(col(AnnotationRevision.number))
    ).all()
    operations = session.exec(
        select(Operation).where(Operation.image_id == image.id).order_by(col(Operation.id))
    ).all()
    outbox = session.exec(select(SearchOutbox).where(SearchOutbox.image_id == image.id)).all()
    fresh = session.get(Image, image.id)
    assert fresh is not None
    return {
        "revision": fresh.revision,
        "boxes": _strip(ann.current_boxes(session, image.id), p),  # type: ignore[arg-type]
        "tags": ann.current_tags(session, image.id),  # type: ignore[arg-type]
        "revisions": [
            (r.number, r.kind, r.author_id, r.summary, _strip(r.changes, p)) for r in revisions
        ],
        "operations": [(o.user_id, o.action, o.revision, _strip(o.payload, p)) for o in operations],
        "outbox": len(outbox),
    }


@pytest.fixture
def producer(session: Session) -> User:
    return make_user(session, "producer")


def test_batch_matches_single_saves(session: Session, producer: User) -> None:
    singles = [make_image(session, producer, labels=("dog",)) for _ in range(3)]
    batched = [make_image(session, producer, labels=("dog",)) for _ in range(3)]
    plan = [steps("s", n) for n in range(3)]
    results = []
    for n, image in enumerate(singles):
        for edits, tags in plan[n]:
            r = ann.save_annotations(
                session,
                actor=producer,
                image_id=image.public_id,
                base_revision=session.get(Image, image.id).revision,  # type: ignore[union-attr]
                edits=edits,
                tags=tags,
            )
            results.append((r.revision, r.summary, r.boxes))
    bplan = [steps("b", n) for n in range(3)]
    # step by step over all images (rows and public ids), then once more with each image's
    # steps in one batch (the same image several times: saved in order)
    for k in range(2):
        outcomes = ann.save_annotations_batch(
            session,
            actor=producer,
            items=[
                BatchItem(image if n % 2 else image.public_id, *bplan[n][k], base_revision=k + 1)
                for n, image in enumerate(batched)
            ],
        )
        assert [o.error for o in outcomes] == [None] * 3
    outcomes = ann.save_annotations_batch(
        session,
        actor=producer,
        chunk_size=2,
        items=[
            BatchItem(image.public_id, *bplan[n][k])
            for n, image in enumerate(batched)
            for k in (2, 3)
        ],
    )
    assert all(o.ok for o in outcomes)
    for n in range(3):
        assert _state(session, batched[n], f"b{n}-") == _state(session, singles[n], f"s{n}-"), n
    got = {}
    for o in outcomes:
        got.setdefault(o.image_id, []).append(o.result)
    single = {
        (image.public_id, k): results[4 * n + k]
        for n, image in enumerate(singles)
        for k in range(4)
    }
    for n, image in enumerate(batched):
        assert [(r.revision, r.summary, r.boxes) for r in got[image.public_id]] == [
            single[(singles[n].public_id, k)] for k in (2, 3)
        ]
    state = _state(session, batched[0], "b0-")
    assert [r[3] for r in state["revisions"]] == [
        "1 tags added",
        "3 added, 2 tags added",
        "2 resized, 1 relabelled, 2 tags removed",
        "1 removed",
    ]
    assert state["outbox"] == 2 + 1  # upload, and both saves that changed tags


def test_one_bad_item_does_not_stop_the_others(session: Session, producer: User) -> None:
    good = [make_image(session, producer) for _ in range(2)]
    bad_box, stale = make_image(session, producer), make_image(session, producer)
    other = make_image(session, make_user(session, "producer"))
    ann.save_annotations(
        session,
        actor=producer,
        image_id=stale.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("st1"))],
    )
    outcomes = ann.save_annotations_batch(
        session,
        actor=producer,
        items=[
            BatchItem(
                good[0].public_id, [BoxEdit("create", box("g1"))], ["dog", "Sunny"], base_revision=1
            ),
            BatchItem(
                bad_box.public_id, [BoxEdit("create", box("x1")), BoxEdit("create", box("x2", w=0))]
            ),
            BatchItem("no-such-image", [BoxEdit("create", box("n1"))]),
            BatchItem(stale.public_id, [BoxEdit("create", box("st2"))], base_revision=1),
            BatchItem(other.public_id, [BoxEdit("create", box("o1"))]),
            BatchItem(good[1].public_id, [BoxEdit("create", box("g2", label="bad/label"))]),
            BatchItem(good[1].public_id, [BoxEdit("create", box("g3"))], base_revision=1),
        ],
    )
    kinds = [type(o.error) if o.error else None for o in outcomes]
    assert kinds == [None, InvalidInput, NotFound, Conflict, Forbidden, InvalidInput, None]
    assert "revision 2" in outcomes[3].error.message  # type: ignore[union-attr]
    assert [(o.result.revision, o.result.summary) for o in outcomes if o.result] == [
        (2, "1 added, 1 tags added"),
        (2, "1 added"),
    ]
    session.expire_all()
    assert [b["id"] for b in ann.current_boxes(session, good[0].id)] == ["g1"]  # type: ignore[arg-type]
    assert ann.current_tags(session, good[0].id) == ["dog", "sunny"]  # type: ignore[arg-type]
    assert [b["id"] for b in ann.current_boxes(session, good[1].id)] == ["g3"]  # type: ignore[arg-type]
    assert ann.current_boxes(session, bad_box.id) == []  # type: ignore[arg-type]
    assert [b["id"] for b in ann.current_boxes(session, stale.id)] == ["st1"]  # type: ignore[arg-type]
    assert ann.current_boxes(session, other.id) == []  # type: ignore[arg-type]
    assert session.get(Image, stale.id).revision == 2  # type: ignore[union-attr]


def test_a_taken_box_id_refuses_only_that_item(session: Session, producer: User) -> None:
    a, b, c = (make_image(session, producer) for _ in range(3))
    ann.save_annotations(
        session,
        actor=producer,
        image_id=a.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("taken"))],
    )
    outcomes = ann.save_annotations_batch(
        session,
        actor=producer,
        items=[
            BatchItem(b.public_id, [BoxEdit("create", box("b1"))]),
            BatchItem(c.public_id, [BoxEdit("create", box("taken"))]),
        ],
    )
    assert outcomes[0].ok and isinstance(outcomes[1].error, Conflict)
    session.expire_all()
    assert [x["id"] for x in ann.current_boxes(session, b.id)] == ["b1"]  # type: ignore[arg-type]
    assert ann.current_boxes(session, c.id) == [] and session.get(Image, c.id).revision == 1  # type: ignore[arg-type,union-attr]


def test_batch_needs_a_user_and_keeps_the_session_fresh(session: Session, producer: User) -> None:
    with pytest.raises(NotAuthenticated):
        ann.save_annotations_batch(session, actor=None, items=[])
    assert ann.save_annotations_batch(session, actor=producer, items=[]) == []
    image = make_image(session, producer)
    [o] = ann.save_annotations_batch(
        session, actor=producer, items=[BatchItem(image, [BoxEdit("create", box("k1"))])]
    )
    assert o.result is not None and o.result.revision == 2
    # the Image row the caller holds is not stale: the editor's next save works on it
    assert image.revision == 2
    r = ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=2,
        edits=[BoxEdit("update", box("k1", x=50))],
    )
    assert (r.revision, r.summary) == (3, "1 moved")
