"""Gold items: marking, grading (tags exact, boxes IoU >= 0.5), the campaign helper's calls."""

import pytest
from sqlmodel import select

from labelhub_app.errors import Forbidden, InvalidInput, NotFound
from labelhub_app.models import Operation
from labelhub_app.services import annotations as ann
from labelhub_app.services import gold
from labelhub_app.services.annotations import BoxEdit
from tests.factories import make_image, make_user


def box(label, x, y, w=40, h=40, i=None):
    return {"id": i or f"{label}-{x}-{y}", "label": label, "x": x, "y": y, "w": w, "h": h}


@pytest.fixture
def golden(session):
    producer = make_user(session, "producer")
    reviewer = make_user(session, "reviewer")
    image = make_image(session, producer, labels=("dog", "park"))
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("dog", 10, 10)), BoxEdit("create", box("ball", 100, 100))],
    )
    gold.mark_gold(session, actor=reviewer, image_id=image.public_id)
    return producer, reviewer, image


def test_mark_snapshots_labels_and_logs(session, golden):
    producer, reviewer, image = golden
    answer = gold.gold_answer(session, image_id=image.id)
    assert answer.tags == ["dog", "park"]
    assert sorted(b["label"] for b in answer.boxes) == ["ball", "dog"]
    assert set(answer.boxes[0]) == {"label", "x", "y", "w", "h"}
    # later edits do not change the gold answer
    ann.save_annotations(
        session, actor=producer, image_id=image.public_id, base_revision=2, edits=[], tags=["cat"]
    )
    assert gold.gold_answer(session, image_id=image.id).tags == ["dog", "park"]
    op = session.exec(select(Operation).where(Operation.action == "gold_mark")).one()
    assert (op.user_id, op.image_id) == (reviewer.id, image.id)


def test_only_reviewers_or_admins_mark_and_only_labelled_images(session, golden):
    producer, reviewer, _ = golden
    with pytest.raises(Forbidden):
        gold.mark_gold(session, actor=producer, image_id=make_image(session, producer).public_id)
    bare = make_image(session, producer, labels=())
    with pytest.raises(InvalidInput, match="no labels"):
        gold.mark_gold(session, actor=reviewer, image_id=bare.public_id)
    with pytest.raises(NotFound):
        gold.gold_answer(session, image_id=bare.id)


def test_grading_tags_and_boxes(session, golden):
    _, _, image = golden
    answer = gold.gold_answer(session, image_id=image.id)
    right = gold.grade(
        answer, tags=["park", "dog"], boxes=[box("dog", 14, 12), box("ball", 98, 103)]
    )
    assert right.correct and right.boxes_matched == 2
    shifted = gold.grade(answer, tags=None, boxes=[box("dog", 35, 10), box("ball", 100, 100)])
    assert not shifted.correct and shifted.boxes_matched == 1  # IoU 0.24 < 0.5
    wrong_label = gold.grade(answer, tags=None, boxes=[box("cat", 10, 10), box("ball", 100, 100)])
    assert not wrong_label.correct
    extra = gold.grade(answer, tags=None, boxes=[*map(dict, answer.boxes), box("dog", 300, 200)])
    assert not extra.correct and extra.boxes_extra == 1 and "1 extra" in extra.detail
    tags = gold.grade(answer, tags=["dog"], boxes=None)
    assert not tags.correct and (tags.tags_right, tags.tags_total) == (1, 2)
    assert "missed park" in tags.detail
    assert gold.iou(box("a", 0, 0, 10, 10), box("a", 5, 0, 10, 10)) == pytest.approx(1 / 3)


def test_gold_images_for_and_accuracy(session, golden):
    producer, reviewer, image = golden
    labeller = make_user(session, "producer")
    assert [i.id for i in gold.gold_images_for(session, user=labeller, limit=5)] == [image.id]
    assert gold.gold_images_for(session, user=producer, limit=5) == []  # their own image
    assert gold.gold_images_for(session, user=labeller, limit=5, exclude_image_ids=[image.id]) == []
    gold.record_gold_result(
        session, user=labeller, image_id=image.id, context="tiled", correct=True, detail="ok"
    )
    gold.record_gold_result(
        session, user=labeller, image_id=image.id, context="boxes", correct=False
    )
    session.commit()
    stats = gold.gold_accuracy(session, user=labeller)
    assert (stats.answered, stats.correct, stats.accuracy) == (2, 1, 0.5)
    assert stats.by_context == {"tiled": (1, 1), "boxes": (0, 1)}
    assert gold.gold_images_for(session, user=labeller, limit=5) == []  # answered lately
    assert gold.gold_accuracy(session, user=reviewer).accuracy is None
    with pytest.raises(InvalidInput):
        gold.record_gold_result(
            session, user=labeller, image_id=image.id, context="quiz", correct=True
        )


def test_unmark(session, golden):
    _, reviewer, image = golden
    gold.unmark_gold(session, actor=reviewer, image_id=image.public_id)
    assert not gold.is_gold(session, image_id=image.id)
    with pytest.raises(NotFound):
        gold.unmark_gold(session, actor=reviewer, image_id=image.public_id)
