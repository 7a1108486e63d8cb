"""Accepting and rejecting the detector's suggestions (services/suggestions.py)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput
from labelhub_app.models import Box, Operation
from labelhub_app.models.suggestions import SuggestionDecision
from labelhub_app.services import annotations as ann
from labelhub_app.services import oplog
from labelhub_app.services import suggestions as sug
from labelhub_app.services.annotations import BoxEdit
from tests.factories import make_image, make_user

VERSION = "7d0c6c8e-1111-4222-8333-444455556666"


def suggestion(i, label="dog", x=10, y=20, w=60, h=40, score=0.9):
    return {
        "id": i,
        "label": label,
        "x": x,
        "y": y,
        "w": w,
        "h": h,
        "source": "model",
        "score": score,
    }


def write_suggestions(session, image, boxes, version=VERSION):
    """As the worker does: a save by the detector's account, then the model version stamped."""
    detector = make_user(session, "reviewer")
    result = ann.save_annotations(
        session,
        actor=detector,
        image_id=image.public_id,
        base_revision=image.revision,
        edits=[BoxEdit("create", b) for b in boxes],
    )
    sug.stamp_model_version(
        session, image_id=image.id, box_ids=[b["id"] for b in boxes], model_version=version
    )
    return result.revision


@pytest.fixture
def pic(session):
    producer = make_user(session, "producer")
    image = make_image(session, producer, labels=("dog",))
    revision = write_suggestions(
        session,
        image,
        [
            suggestion("s1", score=0.95),
            suggestion("s2", "cat", x=150, score=0.6),
            suggestion("s3", x=200, y=100, score=0.3),
        ],
    )
    return producer, image, revision


def boxes_by_id(session, image):
    return {b.public_id: b for b in session.exec(select(Box).where(Box.image_id == image.id))}


def test_accept_makes_a_human_box_with_provenance(session, pic):
    producer, image, rev = pic
    result = sug.accept_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, box_ids=["s1"]
    )
    assert result.revision == rev + 1
    rows = boxes_by_id(session, image)
    s1 = rows["s1"]
    assert (s1.source, s1.score, s1.accepted_score, s1.verified_by_id, s1.model_version) == (
        "human",
        None,
        0.95,
        producer.id,
        VERSION,
    )
    assert (s1.x, s1.y, s1.w, s1.h) == (10, 20, 60, 40)
    assert rows["s2"].source == "model" and rows["s2"].verified_by_id is None
    [op] = session.exec(select(Operation).where(Operation.revision == rev + 1)).all()
    assert (op.action, op.user_id, op.payload["after"]["source"]) == (
        "accept",
        producer.id,
        "human",
    )
    [decision] = session.exec(select(SuggestionDecision)).all()
    assert (decision.decision, decision.box_public_id, decision.score, decision.revision) == (
        "accept",
        "s1",
        0.95,
        rev + 1,
    )
    assert decision.model_version == VERSION
    page = oplog.list_operations(session, actor=producer, action="accept")
    assert page.total == 1
    assert page.items[0].detail == "accepted suggestion dog at (10, 20) 60x40 (score 0.95)"


def test_reject_removes_and_is_remembered(session, pic):
    producer, image, rev = pic
    result = sug.reject_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, box_ids=["s2"]
    )
    assert result.boxes == 2
    assert "s2" not in boxes_by_id(session, image)
    [op] = session.exec(select(Operation).where(Operation.revision == rev + 1)).all()
    assert op.action == "reject"
    assert oplog.list_operations(session, actor=producer, action="reject").items[0].detail == (
        "rejected suggestion cat at (150, 20) 60x40 (score 0.60)"
    )
    [rejected] = sug.rejected_boxes(session, image_id=image.id)
    assert rejected == {
        "label": "cat",
        "x": 150,
        "y": 20,
        "w": 60,
        "h": 40,
        "score": 0.6,
        "model_version": VERSION,
    }
    # The same model labelling the image again: the rejected one (and a near copy) is left out,
    # another label at the same place and a box elsewhere are kept.
    again = [
        {"label": "cat", "x": 150, "y": 20, "w": 60, "h": 40, "score": 0.61},
        {"label": "cat", "x": 153, "y": 22, "w": 58, "h": 40, "score": 0.5},
        {"label": "dog", "x": 150, "y": 20, "w": 60, "h": 40, "score": 0.4},
        {"label": "cat", "x": 10, "y": 150, "w": 30, "h": 30, "score": 0.7},
    ]
    kept = sug.drop_rejected(session, image_id=image.id, detections=again)
    assert [(d["label"], d["x"]) for d in kept] == [("dog", 150), ("cat", 10)]


def test_drop_rejected_skips_human_boxes_too(session, pic):
    producer, image, rev = pic
    sug.accept_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, box_ids=["s1"]
    )
    same_place = [{"label": "dog", "x": 11, "y": 20, "w": 60, "h": 40, "score": 0.9}]
    assert sug.drop_rejected(session, image_id=image.id, detections=same_place) == []
    assert (
        sug.drop_rejected(session, image_id=image.id, detections=same_place, skip_human=False)
        == same_place
    )


def test_accept_all_above_threshold_is_one_revision(session, pic):
    producer, image, rev = pic
    result = sug.accept_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, min_score=0.5
    )
    assert result.revision == rev + 1
    rows = boxes_by_id(session, image)
    assert {i: b.source for i, b in rows.items()} == {"s1": "human", "s2": "human", "s3": "model"}
    ops = session.exec(select(Operation).where(Operation.revision == rev + 1)).all()
    assert sorted(o.action for o in ops) == ["accept", "accept"]
    [revision] = ann.list_revisions(session, actor=producer, image_id=image.public_id, limit=1)
    assert revision.summary == "2 accepted"


def test_editor_edits_count_as_decisions(session, pic):
    """The editor saves accept/reject as plain edits (source flipped, box deleted)."""
    producer, image, rev = pic
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=rev,
        edits=[
            # accept s1 after moving it: the decision keeps the suggestion's geometry
            BoxEdit("update", {**suggestion("s1", x=12, score=0.95)}),
            BoxEdit("update", sug.accepted_box(suggestion("s1", x=12, score=0.95))),
            BoxEdit("delete", suggestion("s3", x=200, y=100, score=0.3)),
            # a human box drawn and a suggestion relabelled (still a suggestion) are no decisions
            BoxEdit("create", {"id": "h1", "label": "dog", "x": 1, "y": 1, "w": 5, "h": 5}),
            BoxEdit("update", suggestion("s2", "bird", x=150, score=0.6)),
        ],
    )
    ops = session.exec(select(Operation).where(Operation.revision == rev + 1)).all()
    assert sorted(o.action for o in ops) == ["accept", "create", "reject", "update"]
    decisions = {
        d.box_id: d for d in sug.list_decisions(session, actor=producer, image_id=image.public_id)
    }
    assert set(decisions) == {"s1", "s3"}
    assert (decisions["s1"].decision, decisions["s3"].decision) == ("accept", "reject")
    assert boxes_by_id(session, image)["s1"].x == 12


def test_undo_of_an_accept_before_saving_is_no_decision(session, pic):
    producer, image, rev = pic
    result = ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=rev,
        edits=[
            BoxEdit("update", sug.accepted_box(suggestion("s1", score=0.95))),
            BoxEdit("update", suggestion("s1", score=0.95)),
        ],
    )
    assert result.summary == "no changes"
    assert session.exec(select(SuggestionDecision)).all() == []


def test_rules_of_saving_apply(session, pic):
    producer, image, rev = pic
    stranger = make_user(session, "producer")
    with pytest.raises(Forbidden):
        sug.accept_suggestions(
            session, actor=stranger, image_id=image.public_id, base_revision=rev, box_ids=["s1"]
        )
    with pytest.raises(Conflict):
        sug.reject_suggestions(
            session, actor=producer, image_id=image.public_id, base_revision=rev - 1, box_ids=["s1"]
        )
    with pytest.raises(InvalidInput):
        sug.accept_suggestions(session, actor=producer, image_id=image.public_id, base_revision=rev)
    with pytest.raises(InvalidInput):
        sug.accept_suggestions(
            session, actor=producer, image_id=image.public_id, base_revision=rev, min_score=2
        )
    # a human box is not a suggestion: nothing to accept, no revision
    sug.accept_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, box_ids=["s1"]
    )
    again = sug.accept_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev + 1, box_ids=["s1"]
    )
    assert (again.revision, again.summary) == (rev + 1, "no changes")
    assert len(session.exec(select(SuggestionDecision)).all()) == 1


def test_a_restore_brings_the_suggestion_back_without_a_decision(session, pic):
    producer, image, rev = pic
    sug.reject_suggestions(
        session, actor=producer, image_id=image.public_id, base_revision=rev, box_ids=["s3"]
    )
    ann.restore_revision(
        session, actor=producer, image_id=image.public_id, number=rev, base_revision=rev + 1
    )
    rows = boxes_by_id(session, image)
    assert rows["s3"].source == "model"
    ops = session.exec(select(Operation).where(Operation.revision == rev + 2)).all()
    assert [o.action for o in ops] == ["restore"]
    assert len(session.exec(select(SuggestionDecision)).all()) == 1


def test_iou():
    a = {"x": 0, "y": 0, "w": 10, "h": 10}
    assert sug.iou(a, a) == 1.0
    assert sug.iou(a, {"x": 5, "y": 0, "w": 10, "h": 10}) == pytest.approx(50 / 150)
    assert sug.iou(a, {"x": 20, "y": 20, "w": 5, "h": 5}) == 0.0
