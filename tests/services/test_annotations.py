import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from labelhub_app.models import AnnotationRevision, Box, Operation
from labelhub_app.services import annotations as ann
from labelhub_app.services import images, oplog, search
from labelhub_app.services.annotations import BoxEdit, StreamFilter
from tests.factories import make_image, make_user


def box(i="b1", label="dog", x=10, y=20, w=30, h=40, **kw):
    return {"id": i, "label": label, "x": x, "y": y, "w": w, "h": h, **kw}


@pytest.fixture
def pic(session):
    producer = make_user(session, "producer")
    return producer, make_image(session, producer, labels=("dog",))


def test_upload_is_revision_one(session, pic):
    producer, image = pic
    view = ann.load_annotations(session, actor=producer, image_id=image.public_id)
    assert (view.revision, view.boxes, view.tags, view.may_edit) == (1, [], ["dog"], True)
    [rev] = ann.list_revisions(session, actor=producer, image_id=image.public_id)
    assert (rev.number, rev.kind, rev.summary, rev.author) == (
        1,
        "upload",
        "1 tags added",
        producer.pseudonym,
    )


def test_save_appends_revisions_and_logs_operations(session, pic):
    producer, image = pic
    r = ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a")), BoxEdit("create", box("b", "cat", x=100))],
    )
    assert (r.revision, r.summary, r.boxes) == (2, "2 added", 2)
    r = ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=2,
        edits=[
            BoxEdit("update", box("a", x=15)),
            BoxEdit("update", box("b", "bird", x=100)),
            BoxEdit("create", box("c")),
            BoxEdit("delete", box("c")),
        ],
        tags=["dog", "park"],
    )
    assert r.summary == "1 moved, 1 relabelled, 1 tags added"
    view = ann.load_annotations(session, actor=producer, image_id=image.public_id)
    assert sorted((b["id"], b["label"], b["x"]) for b in view.boxes) == [
        ("a", "dog", 15.0),
        ("b", "bird", 100.0),
    ]
    assert view.tags == ["dog", "park"]
    ops = oplog.list_operations(session, actor=producer)
    assert ops.total == 6  # upload tag, 2 creates, 2 updates, 1 tag
    assert {o.action for o in ops.items} == {"create", "update", "tag_add"}
    assert any(o.detail == "relabelled box cat → bird" for o in ops.items)


def test_boxes_are_clipped_and_zero_area_refused(session, pic):
    producer, image = pic  # 320x240
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a", x=-10, y=200, w=50, h=100))],
    )
    [b] = ann.load_annotations(session, actor=producer, image_id=image.public_id).boxes
    assert (b["x"], b["y"], b["w"], b["h"]) == (0, 200, 40, 40)
    with pytest.raises(InvalidInput, match="cover some of the image"):
        ann.save_annotations(
            session,
            actor=producer,
            image_id=image.public_id,
            base_revision=2,
            edits=[BoxEdit("create", box("z", x=400, y=10))],
        )
    with pytest.raises(InvalidInput, match="cover some"):
        ann.save_annotations(
            session,
            actor=producer,
            image_id=image.public_id,
            base_revision=2,
            edits=[BoxEdit("create", box("z", w=0))],
        )


def test_stale_revision_is_refused_and_nothing_changes(session, pic):
    producer, image = pic
    reviewer = make_user(session, "reviewer")
    ann.save_annotations(
        session,
        actor=reviewer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("r"))],
    )
    with pytest.raises(Conflict, match=f"saved by {reviewer.pseudonym}.*Reload"):
        ann.save_annotations(
            session,
            actor=producer,
            image_id=image.public_id,
            base_revision=1,
            edits=[BoxEdit("create", box("p"))],
        )
    assert [b.public_id for b in session.exec(select(Box))] == ["r"]


def test_retried_save_lands_once(session, pic):
    producer, image = pic
    args = dict(
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a"))],
        save_key="save-1",
    )
    first = ann.save_annotations(session, **args)
    again = ann.save_annotations(session, **args)
    assert first.revision == again.revision == 2
    assert len(session.exec(select(AnnotationRevision)).all()) == 2


def test_preview_and_restore_make_a_new_revision(session, pic):
    producer, image = pic
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a")), BoxEdit("create", box("b"))],
    )
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=2,
        edits=[BoxEdit("delete", box("a")), BoxEdit("update", box("b", "cat"))],
        tags=[],
    )
    old = ann.preview_revision(session, actor=producer, image_id=image.public_id, number=2)
    assert sorted(b["id"] for b in old.boxes) == ["a", "b"] and old.tags == ["dog"]
    r = ann.restore_revision(
        session, actor=producer, image_id=image.public_id, number=2, base_revision=3
    )
    assert r.revision == 4 and r.summary.startswith("restored revision 2")
    view = ann.load_annotations(session, actor=producer, image_id=image.public_id)
    assert sorted((b["id"], b["label"]) for b in view.boxes) == [("a", "dog"), ("b", "dog")]
    assert view.tags == ["dog"]
    revs = ann.list_revisions(session, actor=producer, image_id=image.public_id)
    assert [(r.number, r.kind) for r in revs] == [
        (4, "restore"),
        (3, "edit"),
        (2, "edit"),
        (1, "upload"),
    ]
    assert revs[0].restored_from == 2
    assert session.exec(select(Operation).where(Operation.action == "restore")).all()


def test_tag_edits_from_dashboard_are_revisions_too(session, pic):
    producer, image = pic
    images.update_image(session, actor=producer, public_id=image.public_id, labels=["cat"])
    revs = ann.list_revisions(session, actor=producer, image_id=image.public_id)
    assert revs[0].summary == "1 tags added, 1 tags removed"
    assert ann.preview_revision(
        session, actor=producer, image_id=image.public_id, number=1
    ).tags == ["dog"]


def test_who_may_edit_and_view(session, pic):
    producer, image = pic
    with pytest.raises(Forbidden):
        ann.save_annotations(
            session,
            actor=make_user(session, "producer"),
            image_id=image.public_id,
            base_revision=1,
            edits=[BoxEdit("create", box())],
        )
    with pytest.raises(NotAuthenticated):
        ann.load_annotations(session, actor=None, image_id=image.public_id)
    with pytest.raises(Forbidden):
        ann.load_annotations(
            session, actor=make_user(session, "consumer"), image_id=image.public_id
        )


def test_tag_saves_reach_search(session, pic):
    producer, image = pic
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[],
        tags=["dog", "frisbee"],
    )
    page = search.search_market(session, query=search.MarketQuery(labels=("frisbee",)))
    assert [c.public_id for c in page.items] == [image.public_id]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ([("create", 1), ("update", 2)], [("create", 2)]),
        ([("create", 1), ("delete", 1)], []),
        ([("update", 1), ("update", 3)], [("update", 3)]),
        ([("update", 1), ("delete", 1)], [("delete", 1)]),
        ([("delete", 1), ("create", 1)], [("update", 1)]),
        ([("create", 1), ("delete", 1), ("create", 5)], [("create", 5)]),
    ],
)
def test_coalesce_edits(edits, expected):
    got = ann.coalesce_edits([BoxEdit(k, box(x=x)) for k, x in edits])
    assert [(e.kind, e.box["x"]) for e in got] == expected


def test_stream_walks_unlabelled_images_oldest_first(session):
    producer = make_user(session, "producer")
    first, second, third = (make_image(session, producer, labels=()) for _ in range(3))
    tagged = make_image(session, producer, labels=("cat",))
    ann.save_annotations(
        session,
        actor=producer,
        image_id=second.public_id,
        base_revision=0,
        edits=[BoxEdit("create", box())],
    )
    ids = ann.stream_images(session, actor=producer, flt=StreamFilter("no_boxes"), limit=10)
    assert ids == [first.public_id, third.public_id, tagged.public_id]
    assert ann.stream_images(session, actor=producer, flt=StreamFilter("unlabelled"), limit=10) == [
        first.public_id,
        third.public_id,
    ]
    assert ann.stream_images(
        session, actor=producer, flt=StreamFilter("all"), after=second.public_id, limit=1
    ) == [third.public_id]
    assert ann.stream_images(
        session, actor=producer, flt=StreamFilter("all", label="dog"), limit=10
    ) == [second.public_id]
    assert (
        ann.stream_images(session, actor=make_user(session, "producer"), flt=StreamFilter("all"))
        == []
    )


def test_oplog_admin_sees_all_others_only_their_own(session, pic):
    producer, image = pic
    other = make_user(session, "producer")
    make_image(session, other, labels=("cat",))
    assert {o.user for o in oplog.list_operations(session, actor=producer).items} == {
        producer.pseudonym
    }
    with pytest.raises(Forbidden):
        oplog.list_operations(session, actor=producer, everyone=True)
    producer.is_admin = True
    assert {
        o.user for o in oplog.list_operations(session, actor=producer, everyone=True).items
    } == {producer.pseudonym, other.pseudonym}
    assert (
        oplog.list_operations(
            session, actor=producer, action="tag_add", image_id=image.public_id
        ).total
        == 1
    )


def test_frequent_labels(session, pic):
    producer, image = pic
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[
            BoxEdit("create", box("a", "cat")),
            BoxEdit("create", box("b", "cat")),
            BoxEdit("create", box("c", "bird")),
        ],
    )
    assert ann.frequent_labels(session, actor=producer) == ["cat", "bird", "dog"]
