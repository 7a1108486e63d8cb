"""Labelling campaigns on the real database: tasks, answers, gold, consolidation, review."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import AnnotationRevision, Operation
from labelhub_app.models.campaigns import CampaignAnswer, CampaignResult, CampaignTask
from labelhub_app.models.reviews import GoldResult, ReviewRequest
from labelhub_app.services import annotations, campaigns, gold, market
from tests.factories import make_image, make_project, make_user


@pytest.fixture
def owner(session):  # type: ignore[no-untyped-def]
    return make_user(session, "producer")


@pytest.fixture
def team(session):  # type: ignore[no-untyped-def]
    return [make_user(session, "producer") for _ in range(3)]


def _campaign(session, owner, n=5, **kw):  # type: ignore[no-untyped-def]
    pics = [make_image(session, owner, labels=("dog",)) for _ in range(n)]
    args = {"name": "Dogs or not", "labels": ["dog"], "labellers_per_image": 3} | kw
    c = campaigns.create_campaign(
        session, actor=owner, image_ids=[p.public_id for p in pics], **args
    )
    return c, pics


def _answer_all(session, labeller, campaign_id, says):  # type: ignore[no-untyped-def]
    """Take tasks until none is left; ``says(image_public_id, label) -> bool`` picks the tiles."""
    seen = []
    while (
        task := campaigns.next_task(session, actor=labeller, campaign_id=campaign_id)
    ) is not None:
        chosen = [t.image_id for t in task.tiles if says(t.image_id, task.label)]
        campaigns.submit_tiled_task(
            session, actor=labeller, task_id=task.public_id, selected=chosen
        )
        seen.append(task)
    return seen


def test_create_checks_input_and_ownership(session, owner):  # type: ignore[no-untyped-def]
    pic = make_image(session, owner)
    other = make_image(session, make_user(session, "producer"))
    good = {"name": "c", "labels": ["dog"], "image_ids": [pic.public_id]}
    for bad, error in (
        ({"labellers_per_image": 0}, InvalidInput),
        ({"labellers_per_image": 6}, InvalidInput),
        ({"labels": []}, InvalidInput),
        ({"labels": ["a/b"]}, InvalidInput),
        ({"name": "  "}, InvalidInput),
        ({"kind": "polygons"}, InvalidInput),
        ({"agreement_threshold": 1.5}, InvalidInput),
        ({"image_ids": [other.public_id]}, Forbidden),
        ({"image_ids": ["nope"]}, NotFound),
    ):
        with pytest.raises(error):
            campaigns.create_campaign(session, actor=owner, **(good | bad))
    consumer = make_user(session, "consumer")
    with pytest.raises(Forbidden):
        campaigns.create_campaign(session, actor=consumer, **good)
    c = campaigns.create_campaign(
        session,
        actor=owner,
        name="  Two   labels ",
        labels=["Dog", "cat", "dog"],
        label_filter="dog",
    )
    assert c.name == "Two labels" and c.labels == ["dog", "cat"]
    assert c.images_count == 1 and c.answers_needed == 1 * 3 * 2
    logged = session.exec(select(Operation).where(Operation.action == "campaign_add")).all()
    assert [op.image_id for op in logged] == [pic.id]


def test_owner_and_consumers_do_not_label(session, owner):  # type: ignore[no-untyped-def]
    c, _ = _campaign(session, owner, n=1)
    with pytest.raises(Forbidden):
        campaigns.next_task(session, actor=owner, campaign_id=c.public_id)
    with pytest.raises(Forbidden):
        campaigns.join_campaign(session, actor=owner, campaign_id=c.public_id)
    with pytest.raises(Forbidden):
        campaigns.next_task(session, actor=make_user(session, "consumer"), campaign_id=c.public_id)


def test_tiled_tasks_one_label_at_a_time_never_twice(session, owner, team):  # type: ignore[no-untyped-def]
    c, _ = _campaign(session, owner, n=25, labels=["dog", "cat"], labellers_per_image=2)
    a, b, extra = team
    first = campaigns.next_task(session, actor=a, campaign_id=c.public_id)
    assert first is not None and first.label == "dog" and len(first.tiles) == 20
    # asking again resumes the same open task
    assert (
        campaigns.next_task(session, actor=a, campaign_id=c.public_id).public_id == first.public_id
    )  # type: ignore[union-attr]
    campaigns.submit_tiled_task(
        session, actor=a, task_id=first.public_id, selected=[first.tiles[0].image_id]
    )
    with pytest.raises(Conflict):
        campaigns.submit_tiled_task(session, actor=a, task_id=first.public_id, selected=[])
    with pytest.raises(NotFound):  # someone else's task
        campaigns.submit_tiled_task(session, actor=b, task_id=first.public_id, selected=[])
    tasks = [first, *_answer_all(session, a, c.public_id, lambda _i, _lb: False)]
    assert [(t.label, len(t.tiles)) for t in tasks] == [
        ("dog", 20),
        ("dog", 5),
        ("cat", 20),
        ("cat", 5),
    ]
    rows = session.exec(select(CampaignAnswer).where(CampaignAnswer.labeller_id == a.id)).all()
    assert len(rows) == 50 and len({(r.image_id, r.label) for r in rows}) == 50
    _answer_all(session, b, c.public_id, lambda _i, _lb: True)
    # two labellers per image asked for: the third finds nothing left
    assert campaigns.next_task(session, actor=extra, campaign_id=c.public_id) is None
    detail = campaigns.campaign_detail(session, actor=owner, campaign_id=c.public_id)
    assert detail.row.answers_done == detail.row.answers_needed == 100
    assert detail.row.progress == 1.0
    assert {row.pseudonym: row.answers for row in detail.labellers} == {
        a.pseudonym: 50,
        b.pseudonym: 50,
        extra.pseudonym: 0,
    }
    logged = session.exec(select(Operation).where(Operation.action == "campaign_answer")).all()
    assert len(logged) == 100


def test_open_tasks_reserve_their_images(session, owner, team):  # type: ignore[no-untyped-def]
    c, _ = _campaign(session, owner, n=30, labellers_per_image=1)
    a, b, _ = team
    ta = campaigns.next_task(session, actor=a, campaign_id=c.public_id)
    tb = campaigns.next_task(session, actor=b, campaign_id=c.public_id)
    assert ta is not None and tb is not None
    assert len(ta.tiles) == 20 and len(tb.tiles) == 10
    # a labeller's own open task still counts as work left for them (to resume it)
    detail = campaigns.campaign_detail(session, actor=a, campaign_id=c.public_id)
    assert detail.remaining_for_me == 20
    assert not {t.image_id for t in ta.tiles} & {t.image_id for t in tb.tiles}


def test_bad_submissions_and_privacy(session, owner, team):  # type: ignore[no-untyped-def]
    c, pics = _campaign(session, owner, n=3)
    a, b, _ = team
    task = campaigns.next_task(session, actor=a, campaign_id=c.public_id)
    with pytest.raises(InvalidInput):
        campaigns.submit_tiled_task(session, actor=a, task_id=task.public_id, selected=["x"])  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        campaigns.submit_box_task(session, actor=a, task_id=task.public_id, boxes=[])  # type: ignore[union-attr]
    campaigns.submit_tiled_task(session, actor=a, task_id=task.public_id, selected=[])  # type: ignore[union-attr]
    # another labeller sees progress only: no answers, no agreement, no image rows
    seen_by_b = campaigns.campaign_detail(session, actor=b, campaign_id=c.public_id)
    assert seen_by_b.labellers == [] and seen_by_b.images == [] and seen_by_b.may_label
    assert seen_by_b.remaining_for_me == 3
    task_b = campaigns.next_task(session, actor=b, campaign_id=c.public_id)
    assert set(vars(task_b)) == {
        "public_id",
        "campaign_id",
        "campaign_name",
        "kind",
        "label",
        "labels",
        "tiles",
        "width",
        "height",
    }
    with pytest.raises(Forbidden):
        campaigns.consolidate_campaign(session, actor=b, campaign_id=c.public_id)
    assert campaigns.labeller_may_view(session, user_id=b.id, image_id=pics[0].id)
    assert not campaigns.labeller_may_view(session, user_id=team[2].id, image_id=pics[0].id)


def test_consolidation_writes_labels_with_provenance_and_requests_review(session, owner, team):  # type: ignore[no-untyped-def]
    c, pics = _campaign(session, owner, n=5, agreement_threshold=0.7)
    ids = [p.public_id for p in pics]
    with pytest.raises(InvalidInput):
        campaigns.consolidate_campaign(session, actor=owner, campaign_id=c.public_id)
    # images 0, 1 show a dog; 2, 3 don't; on 4 the labellers split 2-1
    truth = {ids[0]: True, ids[1]: True, ids[2]: False, ids[3]: False}
    _answer_all(session, team[0], c.public_id, lambda i, _lb: truth.get(i, True))
    _answer_all(session, team[1], c.public_id, lambda i, _lb: truth.get(i, True))
    _answer_all(session, team[2], c.public_id, lambda i, _lb: truth.get(i, False))
    summary = campaigns.consolidate_campaign(session, actor=owner, campaign_id=c.public_id)
    assert summary.method == "majority"  # 15 answers: too few for Dawid-Skene
    assert summary.images == 5 and summary.to_review == 1
    assert summary.changed == 2  # every image was tagged dog; 2 and 3 lose it
    for i, pic in enumerate(pics):
        assert ("dog" in annotations.current_tags(session, pic.id)) == (i not in (2, 3))
    revision = session.exec(
        select(AnnotationRevision)
        .where(AnnotationRevision.image_id == pics[2].id)
        .order_by(col(AnnotationRevision.number).desc())
    ).first()
    assert revision.kind == "consensus" and revision.author_id == owner.id  # type: ignore[union-attr]
    [change] = revision.changes  # type: ignore[union-attr]
    assert change["op"] == "tag_remove" and change["label"] == "dog"
    provenance = change["consensus"]
    assert provenance["campaign"] == c.public_id and provenance["method"] == "majority"
    assert provenance["agreement"] == 1.0
    assert sorted(a["labeller"] for a in provenance["answers"]) == sorted(u.pseudonym for u in team)
    # the split image goes to the review queue, once
    [request] = session.exec(select(ReviewRequest)).all()
    assert request.image_id == pics[4].id and request.source == "consensus"
    assert "67%" in request.reason
    result = session.exec(select(CampaignResult).where(CampaignResult.image_id == pics[4].id)).one()
    assert (
        result.present is True and result.needs_review and result.agreement == pytest.approx(0.6667)
    )
    detail = campaigns.campaign_detail(session, actor=owner, campaign_id=c.public_id)
    assert detail.review_count == 1
    agreement = {row.pseudonym: row.agreement for row in detail.labellers}
    assert agreement[team[0].pseudonym] == 1.0 and agreement[team[2].pseudonym] == 0.8
    assert [r.needs_review for r in detail.images] == [False, False, False, False, True]
    assert detail.images[0].result == ["dog"] and detail.images[2].result == []
    # consolidating again changes nothing and asks for no second review
    again = campaigns.consolidate_campaign(session, actor=owner, campaign_id=c.public_id)
    assert again.changed == 0
    assert len(session.exec(select(ReviewRequest)).all()) == 1
    assert len(session.exec(select(Operation).where(Operation.action == "consolidate")).all()) == 10


def test_dawid_skene_is_used_with_enough_answers(session, owner, team):  # type: ignore[no-untyped-def]
    c, pics = _campaign(session, owner, n=12)
    ids = [p.public_id for p in pics]
    dogs = set(ids[:6])
    _answer_all(session, team[0], c.public_id, lambda i, _lb: i in dogs)
    _answer_all(session, team[1], c.public_id, lambda i, _lb: i in dogs)
    _answer_all(session, team[2], c.public_id, lambda i, _lb: i in dogs or i == ids[11])
    summary = campaigns.consolidate_campaign(session, actor=owner, campaign_id=c.public_id)
    assert summary.method == "dawid_skene"
    for i, pic in enumerate(pics):
        assert ("dog" in annotations.current_tags(session, pic.id)) == (i < 6)


def test_gold_images_are_mixed_in_and_graded(session, owner, team):  # type: ignore[no-untyped-def]
    other = make_user(session, "producer")
    reviewer = make_user(session, "reviewer")
    golden = make_image(session, other, labels=("dog",))
    gold.mark_gold(session, actor=reviewer, image_id=golden.public_id)
    c, _ = _campaign(session, owner, n=3)
    task = campaigns.next_task(session, actor=team[0], campaign_id=c.public_id)
    assert task is not None and len(task.tiles) == 4
    assert golden.public_id in {t.image_id for t in task.tiles}
    assert campaigns.labeller_may_view(session, user_id=team[0].id, image_id=golden.id)
    result = campaigns.submit_tiled_task(
        session, actor=team[0], task_id=task.public_id, selected=[golden.public_id]
    )
    assert result.answers == 3 and result.gold_checked == 1
    [graded] = session.exec(select(GoldResult)).all()
    assert graded.user_id == team[0].id and graded.context == "tiled" and graded.correct
    # gold answers are not campaign answers
    assert golden.id not in {a.image_id for a in session.exec(select(CampaignAnswer)).all()}


def test_boxes_campaign_keeps_answers_apart_and_fuses_them(session, owner, team):  # type: ignore[no-untyped-def]
    c, pics = _campaign(
        session, owner, n=2, kind="boxes", labels=["dog", "cat"], labellers_per_image=3
    )
    assert c.answers_needed == 6
    drawn = {
        0: [{"label": "dog", "x": 10, "y": 10, "w": 100, "h": 80}],
        1: [{"label": "dog", "x": 14, "y": 10, "w": 100, "h": 80}],
        2: [
            {"label": "dog", "x": 12, "y": 10, "w": 100, "h": 80},
            {"label": "cat", "x": 200, "y": 100, "w": 50, "h": 50},
        ],
    }
    for n, labeller in enumerate(team):
        for _ in pics:
            task = campaigns.next_task(session, actor=labeller, campaign_id=c.public_id)
            assert task is not None and task.kind == "boxes" and len(task.tiles) == 1
            assert (task.width, task.height) == (320, 240) and task.labels == ["dog", "cat"]
            campaigns.submit_box_task(
                session, actor=labeller, task_id=task.public_id, boxes=drawn[n]
            )
        assert campaigns.next_task(session, actor=labeller, campaign_id=c.public_id) is None
    with pytest.raises(InvalidInput):
        bad_c, _ = _campaign(
            session, owner, n=1, kind="boxes", labels=["dog"], labellers_per_image=1
        )
        t = campaigns.next_task(session, actor=team[0], campaign_id=bad_c.public_id)
        campaigns.submit_box_task(
            session,
            actor=team[0],
            task_id=t.public_id,
            boxes=[{"label": "horse", "x": 1, "y": 1, "w": 9, "h": 9}],  # type: ignore[union-attr]
        )
    answers = session.exec(
        select(CampaignAnswer).where(CampaignAnswer.image_id == pics[0].id)
    ).all()
    assert sorted(len(a.boxes or []) for a in answers) == [1, 1, 2]  # three separate answers
    assert (
        annotations.current_boxes(session, pics[0].id) == []
    )  # nothing applied before consolidation
    summary = campaigns.consolidate_campaign(session, actor=owner, campaign_id=c.public_id)
    assert summary.method == "box_fusion" and summary.changed == 2
    boxes = annotations.current_boxes(session, pics[0].id)
    assert [(b["label"], b["x"], b["w"]) for b in boxes] == [("dog", 12.0, 100.0)]
    result = session.exec(select(CampaignResult).where(CampaignResult.image_id == pics[0].id)).one()
    assert result.agreement == pytest.approx(4 / 6, abs=1e-3) and result.needs_review
    revision = session.exec(
        select(AnnotationRevision)
        .where(AnnotationRevision.image_id == pics[0].id)
        .order_by(col(AnnotationRevision.number).desc())
    ).first()
    assert revision.kind == "consensus"  # type: ignore[union-attr]
    [add] = [ch for ch in revision.changes if ch["op"] == "add"]  # type: ignore[union-attr]
    assert add["consensus"]["support"] == 3 and len(add["consensus"]["answers"]) == 3


def test_consumer_campaign_on_bought_images_keeps_results_in_the_campaign(session, owner, team):  # type: ignore[no-untyped-def]
    consumer = make_user(session, "consumer")
    pics = [make_image(session, owner, labels=("dog",)) for _ in range(2)]
    project = make_project(session, consumer)
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[p.public_id for p in pics],
        idempotency_key="k",
    )
    with pytest.raises(NotFound):
        campaigns.create_campaign(
            session, actor=team[0], name="x", labels=["cat"], project_id=project.public_id
        )
    c = campaigns.create_campaign(
        session,
        actor=consumer,
        name="Cats in my set",
        labels=["cat"],
        labellers_per_image=1,
        project_id=project.public_id,
    )
    assert c.images_count == 2
    # the images' producer may join but is never handed their own images
    assert campaigns.next_task(session, actor=owner, campaign_id=c.public_id) is None
    _answer_all(session, team[0], c.public_id, lambda _i, _lb: True)
    summary = campaigns.consolidate_campaign(session, actor=consumer, campaign_id=c.public_id)
    assert summary.images == 2 and summary.changed == 0
    assert all(annotations.current_tags(session, p.id) == ["dog"] for p in pics)
    results = session.exec(select(CampaignResult)).all()
    assert {r.present for r in results} == {True} and {r.revision for r in results} == {None}


def test_listing(session, owner, team):  # type: ignore[no-untyped-def]
    c, _ = _campaign(session, owner, n=2)
    lists = campaigns.list_campaigns(session, actor=team[0])
    assert [r.public_id for r in lists.open] == [c.public_id] and lists.joined == []
    campaigns.join_campaign(session, actor=team[0], campaign_id=c.public_id)
    lists = campaigns.list_campaigns(session, actor=team[0])
    assert lists.open == [] and [r.public_id for r in lists.joined] == [c.public_id]
    mine = campaigns.list_campaigns(session, actor=owner)
    assert [r.is_owner for r in mine.own] == [True]
    assert session.exec(select(CampaignTask)).all() == []


def test_labellers_see_thumbnails_of_withdrawn_task_images_not_originals(session, owner, team):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from labelhub_app.api.app import api
    from labelhub_app.services import images, tokens

    c, pics = _campaign(session, owner, n=1)
    images.set_image_on_sale(session, actor=owner, public_id=pics[0].public_id, on_sale=False)
    task = campaigns.next_task(session, actor=team[0], campaign_id=c.public_id)
    assert task is not None and task.tiles[0].on_sale is False
    client = TestClient(api)

    def get(user, what):  # type: ignore[no-untyped-def]
        token = tokens.create_token(session, actor=user, name=f"t{user.id}{what}").token
        return client.get(
            f"/api/v1/images/{pics[0].public_id}/{what}",
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    assert get(team[0], "private-thumb/256") == 200
    assert get(team[1], "private-thumb/256") == 403  # not handed this image
    assert get(team[0], "original") == 403
