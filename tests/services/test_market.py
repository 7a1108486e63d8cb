import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, InvalidInput, NotFound
from labelhub_app.models import Image, Purchase
from labelhub_app.services import images, ledger, market
from tests.factories import make_image, make_project, make_user


@pytest.fixture
def shop(session):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    pics = [make_image(session, producer, price_cents=p) for p in (300, 500, 700)]
    project = make_project(session, consumer, "Dogs")
    return producer, consumer, pics, project


def test_project_lifecycle(session):
    consumer = make_user(session, "consumer")
    project = market.create_project(session, actor=consumer, name="  Street   scenes ")
    assert project.name == "Street scenes"
    with pytest.raises(Conflict):
        market.create_project(session, actor=consumer, name="Street scenes")
    market.rename_project(session, actor=consumer, project_id=project.public_id, name="Streets")
    market.archive_project(session, actor=consumer, project_id=project.public_id)
    assert market.list_projects(session, actor=consumer) == []
    [summary] = market.list_projects(session, actor=consumer, include_archived=True)
    assert summary.archived and summary.name == "Streets"
    with pytest.raises(InvalidInput):
        market.create_project(session, actor=consumer, name="   ")


def test_other_consumers_project_is_not_found(session, shop):
    _, _, _, project = shop
    stranger = make_user(session, "consumer")
    with pytest.raises(NotFound):
        market.get_own_project(session, actor=stranger, project_id=project.public_id)
    with pytest.raises(NotFound):
        market.rename_project(session, actor=stranger, project_id=project.public_id, name="mine")


def test_buy_moves_money_balanced(session, settings, shop):
    producer, consumer, pics, project = shop
    before = ledger.balance(session, user=consumer)
    bought = market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[pics[0].public_id, pics[1].public_id],
        idempotency_key="a",
    )
    assert [p.price_cents for p in bought] == [300, 500]
    assert ledger.balance(session, user=consumer) == before - 800
    commission = 300 * settings.commission_bps // 10_000 + 500 * settings.commission_bps // 10_000
    assert ledger.income(session, user=producer) == 800 - commission
    assert ledger.check_ledger(session).ok
    session.refresh(pics[0])
    assert (
        pics[0].sales_count == 1
        and pics[0].income_cents == 300 - 300 * settings.commission_bps // 10_000
    )
    [summary] = market.list_projects(session, actor=consumer)
    assert (summary.items, summary.bought, summary.spent_cents) == (2, 2, 800)


def test_retry_with_same_key_charges_once(session, shop):
    _, consumer, pics, project = shop
    before = ledger.balance(session, user=consumer)
    args = {
        "buyer": consumer,
        "project_id": project.public_id,
        "image_ids": [pics[2].public_id],
        "idempotency_key": "double-click",
    }
    first = market.buy_images(session, **args)
    second = market.buy_images(session, **args)
    assert [p.id for p in first] == [p.id for p in second]
    assert ledger.balance(session, user=consumer) == before - 700
    assert len(session.exec(select(Purchase)).all()) == 1


def test_buying_owned_image_is_refused(session, shop):
    _, consumer, pics, project = shop
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[pics[0].public_id],
        idempotency_key="1",
    )
    with pytest.raises(Conflict, match="already own"):
        market.buy_images(
            session,
            buyer=consumer,
            project_id=project.public_id,
            image_ids=[pics[0].public_id, pics[1].public_id],
            idempotency_key="2",
        )
    assert ledger.check_ledger(session).ok


def test_insufficient_balance_has_clear_message_and_changes_nothing(session, shop):
    producer, consumer, _, project = shop
    dear = make_image(session, producer, price_cents=1_000_000)
    before = ledger.balance(session, user=consumer)
    with pytest.raises(InvalidInput, match="Not enough credits"):
        market.buy_images(
            session,
            buyer=consumer,
            project_id=project.public_id,
            image_ids=[dear.public_id],
            idempotency_key="k",
        )
    assert ledger.balance(session, user=consumer) == before
    assert session.exec(select(Purchase)).all() == []


def test_cannot_buy_own_or_withdrawn_image(session, shop):
    producer, consumer, pics, project = shop
    images.set_image_on_sale(session, actor=producer, public_id=pics[0].public_id, on_sale=False)
    with pytest.raises(Conflict, match="no longer on sale"):
        market.buy_images(
            session,
            buyer=consumer,
            project_id=project.public_id,
            image_ids=[pics[0].public_id],
            idempotency_key="w",
        )
    both = make_user(session, "producer", "consumer")
    own = make_image(session, both)
    mine = make_project(session, both)
    with pytest.raises(Conflict, match="your own"):
        market.buy_images(
            session,
            buyer=both,
            project_id=mine.public_id,
            image_ids=[own.public_id],
            idempotency_key="o",
        )


def test_consumer_sees_only_own_purchases(session, shop):
    _producer, consumer, pics, project = shop
    other = make_user(session, "consumer")
    other_project = make_project(session, other)
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[pics[0].public_id],
        idempotency_key="1",
    )
    market.buy_images(
        session,
        buyer=other,
        project_id=other_project.public_id,
        image_ids=[pics[1].public_id],
        idempotency_key="1",
    )
    mine = market.consumer_summary(session, actor=consumer)
    assert [p.image_id for p in mine.purchases] == [pics[0].public_id]
    assert mine.spent_cents == 300 and mine.spending_by_project[0][1] == "Dogs"


def test_producer_summary_counts_sales_not_buyers(session, shop):
    producer, consumer, pics, project = shop
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[pics[0].public_id, pics[1].public_id],
        idempotency_key="1",
    )
    summary = market.producer_summary(session, actor=producer)
    assert (summary.images, summary.on_sale, summary.sales) == (3, 3, 2)
    assert summary.income_by_day[-1][1] == summary.income_cents > 0
    assert len(summary.income_by_day) == 30
    # the dashboard rows carry counts and income, never who bought
    rows = images.list_own_images(session, actor=producer, sort="sales").items
    assert rows[0].sales_count == 1 and not hasattr(rows[0], "buyer")


def test_add_to_project_and_remove(session, shop):
    _, consumer, pics, project = shop
    assert (
        market.add_to_project(
            session,
            actor=consumer,
            project_id=project.public_id,
            image_ids=[p.public_id for p in pics],
        )
        == 3
    )
    assert (
        market.add_to_project(
            session, actor=consumer, project_id=project.public_id, image_ids=[pics[0].public_id]
        )
        == 0
    )
    market.remove_from_project(
        session, actor=consumer, project_id=project.public_id, image_id=pics[0].public_id
    )
    [summary] = market.list_projects(session, actor=consumer)
    assert summary.items == 2 and summary.to_buy_cents == 1200
    assert session.exec(select(Image)).all()  # nothing deleted
