"""The review queue and verdicts: accept, reject with a reason, fix as a reviewer's revision."""

import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import AnnotationRevision, Operation, Review, SearchOutbox
from labelhub_app.services import annotations as ann
from labelhub_app.services import gold, reputation, reviews, search
from labelhub_app.services.annotations import BoxEdit
from labelhub_app.services.search import MarketQuery
from tests.factories import make_image, make_user


def box(i="b1", label="dog", x=10, y=20, w=30, h=40):
    return {"id": i, "label": label, "x": x, "y": y, "w": w, "h": h}


@pytest.fixture
def world(session):
    producer = make_user(session, "producer")
    other = make_user(session, "producer")
    reviewer = make_user(session, "reviewer", "producer")
    pics = [make_image(session, producer, labels=("dog",)) for _ in range(3)]
    cat = make_image(session, other, labels=("cat",))
    own = make_image(session, reviewer, labels=("dog",))
    return producer, other, reviewer, pics, cat, own


def queue_ids(session, reviewer, **kw):
    return [i.image_id for i in reviews.review_queue(session, reviewer=reviewer, **kw)]


def test_queue_newest_unreviewed_first_never_own(session, world):
    _producer, _other, reviewer, pics, cat, own = world
    ids = queue_ids(session, reviewer)
    assert ids == [cat.public_id, *[p.public_id for p in reversed(pics)]]
    assert own.public_id not in ids
    reviews.accept(session, reviewer=reviewer, image_id=cat.public_id, base_revision=1)
    assert cat.public_id not in queue_ids(session, reviewer)


def test_queue_filters_by_producer_and_label(session, world):
    _producer, other, reviewer, pics, cat, _own = world
    assert queue_ids(session, reviewer, producer=other.pseudonym) == [cat.public_id]
    assert set(queue_ids(session, reviewer, label="Dog")) == {p.public_id for p in pics}
    with pytest.raises(NotFound, match="No producer"):
        reviews.review_queue(session, reviewer=reviewer, producer="nobody-here")
    with pytest.raises(NotFound, match="No label"):
        reviews.review_queue(session, reviewer=reviewer, label="unicorn")


def test_requested_reviews_come_first_with_reason(session, world):
    _producer, _other, reviewer, pics, _cat, own = world
    reviews.request_review(session, image_id=pics[0].id, reason="labellers disagree (40%)")
    reviews.request_review(session, image_id=own.id, reason="low agreement")
    session.commit()
    [first, *_] = reviews.review_queue(session, reviewer=reviewer)
    assert (first.image_id, first.reason) == (pics[0].public_id, "labellers disagree (40%)")
    assert own.public_id not in queue_ids(session, reviewer)  # requested, but their own
    item = reviews.open_for_review(session, reviewer=reviewer, image_id=pics[0].public_id)
    assert item.requested_reason == "labellers disagree (40%)"
    reviews.accept(session, reviewer=reviewer, image_id=pics[0].public_id, base_revision=1)
    review = session.exec(select(Review).where(Review.image_id == pics[0].id)).one()
    assert review.request_id is not None
    assert queue_ids(session, reviewer)[0] != pics[0].public_id  # resolved
    with pytest.raises(InvalidInput):
        reviews.request_review(session, image_id=pics[1].id, reason="   ")


def test_only_reviewers_and_never_own_images(session, world):
    producer, _other, reviewer, _pics, cat, own = world
    with pytest.raises(NotAuthenticated):
        reviews.review_queue(session, reviewer=None)
    with pytest.raises(Forbidden, match="Only reviewers"):
        reviews.accept(session, reviewer=producer, image_id=cat.public_id, base_revision=1)
    with pytest.raises(Forbidden, match="your own images"):
        reviews.accept(session, reviewer=reviewer, image_id=own.public_id, base_revision=1)
    with pytest.raises(Forbidden, match="your own images"):
        reviews.open_for_review(session, reviewer=reviewer, image_id=own.public_id)
    assert session.exec(select(Review)).all() == []


def test_reject_needs_reason_and_producer_sees_it(session, world):
    producer, other, reviewer, pics, _cat, _own = world
    with pytest.raises(InvalidInput, match="Say why"):
        reviews.reject(
            session, reviewer=reviewer, image_id=pics[0].public_id, base_revision=1, reason=" "
        )
    reviews.reject(
        session,
        reviewer=reviewer,
        image_id=pics[0].public_id,
        base_revision=1,
        reason="That is a wolf, not a dog.",
    )
    reviews.accept(session, reviewer=reviewer, image_id=pics[1].public_id, base_revision=1)
    rows = reviews.reviews_for_producer(session, producer=producer)
    assert [(r.image_id, r.outcome, r.reason, r.reviewer) for r in rows] == [
        (pics[1].public_id, "accepted", "", reviewer.pseudonym),
        (pics[0].public_id, "rejected", "That is a wolf, not a dog.", reviewer.pseudonym),
    ]
    assert reviews.reviews_for_producer(session, producer=other) == []
    actions = session.exec(
        select(Operation.action).where(Operation.user_id == reviewer.id).order_by(Operation.id)
    ).all()
    assert [a for a in actions if a.startswith("review")] == ["review_reject", "review_accept"]


def test_fix_is_a_reviewer_revision_with_a_diff(session, world):
    producer, _other, reviewer, pics, _cat, _own = world
    image = pics[0]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a")), BoxEdit("create", box("b", "dog", x=200))],
    )
    with pytest.raises(InvalidInput, match="changes nothing"):
        reviews.fix(session, reviewer=reviewer, image_id=image.public_id, base_revision=2, edits=[])
    outcome = reviews.fix(
        session,
        reviewer=reviewer,
        image_id=image.public_id,
        base_revision=2,
        edits=[
            BoxEdit("update", box("a", x=50)),
            BoxEdit("delete", box("b", "dog", x=200)),
            BoxEdit("create", box("c", "cat", x=100, y=100)),
        ],
        tags=["dog", "outdoor"],
        reason="moved the dog box onto the dog",
    )
    assert outcome.outcome == "fixed" and outcome.revision == 3
    kinds = [line.kind for line in outcome.diff]
    assert sorted(kinds) == ["added", "moved", "removed", "tag_added"]
    moved = next(line.text for line in outcome.diff if line.kind == "moved")
    assert moved == "moved box dog at (10, 20) 30x40 → (50, 20) 30x40"
    revision = session.exec(
        select(AnnotationRevision).where(
            AnnotationRevision.image_id == image.id, AnnotationRevision.number == 3
        )
    ).one()
    assert (revision.author_id, revision.kind) == (reviewer.id, "review")
    assert ann.current_tags(session, image.id) == ["dog", "outdoor"]
    [row] = list(reviews.reviews_for_producer(session, producer=producer))
    assert row.outcome == "fixed" and [d.kind for d in row.diff] == kinds
    logged = set(
        session.exec(select(Operation.action).where(Operation.user_id == reviewer.id)).all()
    )
    assert {"review_fix", "update", "delete", "create", "tag_add"} <= logged


def test_stale_revision_is_refused(session, world):
    producer, _other, reviewer, pics, _cat, _own = world
    ann.save_annotations(
        session,
        actor=producer,
        image_id=pics[0].public_id,
        base_revision=1,
        edits=[BoxEdit("create", box("a"))],
    )
    with pytest.raises(Conflict, match="changed while you were reviewing"):
        reviews.accept(session, reviewer=reviewer, image_id=pics[0].public_id, base_revision=1)


def test_verdicts_update_reputation_and_the_market(session, world):
    producer, other, reviewer, pics, cat, _own = world
    before = search.search_market(session, query=MarketQuery(sort="quality"))
    card = next(c for c in before.items if c.public_id == pics[0].public_id)
    assert (card.producer_score, card.producer_reviews) == (reputation.PRIOR.score, 0)
    outbox_before = len(session.exec(select(SearchOutbox.id)).all())
    for p in pics:
        reviews.accept(session, reviewer=reviewer, image_id=p.public_id, base_revision=1)
    reviews.reject(
        session, reviewer=reviewer, image_id=cat.public_id, base_revision=1, reason="not a cat"
    )
    # every verdict queues the producer's on-sale images for the index
    assert len(session.exec(select(SearchOutbox.id)).all()) - outbox_before == 3 * 3 + 1
    good = reputation.reputation_of(session, user_id=producer.id)
    bad = reputation.reputation_of(session, user_id=other.id)
    assert (good.accepted, good.reviews) == (3, 3) and (bad.rejected, bad.reviews) == (1, 1)
    after = search.search_market(session, query=MarketQuery(sort="quality"))
    first = after.items[0]
    assert first.producer_pseudonym == producer.pseudonym
    assert (first.producer_score, first.producer_reviews) == (good.score, 3)
    assert after.items[-1].producer_pseudonym in (other.pseudonym, reviewer.pseudonym)
    picky = search.search_market(
        session, query=MarketQuery(min_quality=good.lower - 1e-9, sort="quality")
    )
    assert {c.public_id for c in picky.items} == {p.public_id for p in pics}
    with pytest.raises(InvalidInput):
        search.search_market(session, query=MarketQuery(min_quality=1.5))


def test_gold_in_queue_grades_reviewer_not_producer(session, world):
    _producer, other, reviewer, _pics, cat, _own = world
    admin = make_user(session, "reviewer")
    gold.mark_gold(session, actor=admin, image_id=cat.public_id)
    items = reviews.review_queue(session, reviewer=reviewer, seed=1)
    assert cat.public_id in [i.image_id for i in items]  # mixed in, looking like any other
    assert all(i.reason == "" for i in items)
    reviews.accept(session, reviewer=reviewer, image_id=cat.public_id, base_revision=1)
    stats = gold.gold_accuracy(session, user=reviewer)
    assert (stats.answered, stats.correct, stats.by_context) == (1, 1, {"review": (1, 1)})
    assert reputation.reputation_of(session, user_id=other.id).reviews == 0
    assert reviews.reviews_for_producer(session, producer=other) == []
    # answered lately: not offered again
    assert cat.public_id not in queue_ids(session, reviewer)
    # a wrong fix on a gold image is graded wrong and not applied
    reviewer2 = make_user(session, "reviewer")
    reviews.fix(
        session,
        reviewer=reviewer2,
        image_id=cat.public_id,
        base_revision=1,
        edits=[],
        tags=["dog"],
    )
    assert gold.gold_accuracy(session, user=reviewer2).correct == 0
    assert ann.current_tags(session, cat.id) == ["cat"]
    # rejecting correct gold labels is a mistake too
    reviewer3 = make_user(session, "reviewer")
    reviews.reject(
        session, reviewer=reviewer3, image_id=cat.public_id, base_revision=1, reason="hmm"
    )
    stats3 = gold.gold_accuracy(session, user=reviewer3)
    assert (stats3.answered, stats3.correct) == (1, 0)
    assert "rejected correct labels" in stats3.recent[0].detail


def test_index_hears_of_a_score_only_when_it_moves_a_point(session, world):
    producer, _other, reviewer, pics, _cat, _own = world

    def add_reviews(outcome, n):
        for _ in range(n):
            session.add(
                Review(
                    image_id=pics[0].id,
                    reviewer_id=reviewer.id,
                    producer_id=producer.id,
                    outcome=outcome,
                    revision_before=1,
                )
            )
        session.flush()
        before = len(session.exec(select(SearchOutbox.id)).all())
        estimate = reputation.update_reputation(session, producer_id=producer.id)
        session.commit()
        return estimate, len(session.exec(select(SearchOutbox.id)).all()) - before

    first, queued = add_reviews("accepted", 200)
    assert first.reviews == 200 and queued == len(pics)  # 0.37 -> 0.98: every on-sale image
    second, queued = add_reviews("accepted", 1)
    assert second.lower != first.lower and queued == 0  # moved by far less than a point
    third, queued = add_reviews("rejected", 10)
    assert third.lower < first.lower - 0.01 and queued == len(pics)
    # an image the index reloads (for any reason) gets the current score
    doc = search.image_doc(session, pics[0].id)
    assert doc is not None and doc.quality == third.lower
