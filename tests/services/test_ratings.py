"""Consumers rate images they bought: 1-5 and a comment, one rating per purchase."""

import pytest
from sqlmodel import select

from labelhub_app.errors import InvalidInput, NotAuthenticated
from labelhub_app.models import Operation, Rating
from labelhub_app.services import market, ratings
from tests.factories import make_image, make_project, make_user


@pytest.fixture
def bought(session):
    producer = make_user(session, "producer")
    buyer = make_user(session, "consumer")
    image = make_image(session, producer)
    project = make_project(session, buyer)
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="k1",
    )
    return producer, buyer, image


def test_rate_then_update_is_one_rating(session, bought):
    _, buyer, image = bought
    first = ratings.rate_image(
        session, buyer=buyer, image_id=image.public_id, stars=4, comment="  tight boxes "
    )
    assert (first.updated, first.comment) == (False, "tight boxes")
    assert "rated this image 4/5" in first.message
    again = ratings.rate_image(session, buyer=buyer, image_id=image.public_id, stars=2)
    assert again.updated and "updated to 2/5 (one rating per purchase)" in again.message
    assert len(session.exec(select(Rating)).all()) == 1
    summary = ratings.rating_summary(session, image_id=image.id)
    assert (summary.average, summary.count) == (2.0, 1)
    mine = ratings.my_rating(session, buyer=buyer, image_id=image.public_id)
    assert mine is not None and (mine.stars, mine.comment) == (2, "")
    assert ratings.my_ratings(session, buyer=buyer, image_ids=[image.public_id]) == {
        image.public_id: 2
    }
    logged = session.exec(select(Operation).where(Operation.action == "rate")).all()
    assert [op.payload["stars"] for op in logged] == [4, 2]


def test_average_over_buyers(session, bought):
    _, buyer, image = bought
    other = make_user(session, "consumer")
    market.buy_images(
        session,
        buyer=other,
        project_id=make_project(session, other).public_id,
        image_ids=[image.public_id],
        idempotency_key="k2",
    )
    ratings.rate_image(session, buyer=buyer, image_id=image.public_id, stars=5)
    ratings.rate_image(session, buyer=other, image_id=image.public_id, stars=2)
    summary = ratings.rating_summaries(session, [image.id])[image.id]
    assert (summary.average, summary.count) == (3.5, 2)


def test_only_bought_images_and_valid_stars(session, bought):
    producer, buyer, image = bought
    stranger = make_user(session, "consumer")
    with pytest.raises(InvalidInput, match="only images you bought"):
        ratings.rate_image(session, buyer=stranger, image_id=image.public_id, stars=5)
    with pytest.raises(InvalidInput, match="only images you bought"):
        ratings.rate_image(session, buyer=producer, image_id=image.public_id, stars=5)
    for stars in (0, 6, True):
        with pytest.raises(InvalidInput, match="1 to 5"):
            ratings.rate_image(session, buyer=buyer, image_id=image.public_id, stars=stars)
    with pytest.raises(InvalidInput, match="under 1000"):
        ratings.rate_image(
            session, buyer=buyer, image_id=image.public_id, stars=3, comment="x" * 1001
        )
    with pytest.raises(NotAuthenticated):
        ratings.rate_image(session, buyer=None, image_id=image.public_id, stars=3)
    assert ratings.rating_summary(session, image_id=image.id).count == 0
