"""The review queue (/review) as a reviewer uses it, keys only where a person would use keys:
accept (A), reject with a reason (R, type, Enter), fix (F: a tag added and a box moved, Ctrl+S)
shown as a diff; the producer sees each outcome on the dashboard; the producer's score in the
market changes; a buyer rates the image (1-5 and a comment, one rating per purchase).

People and images are made through the services (fast); the app's database lives for the whole
test session, so the reviewer filters the queue by this test's producer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.config import SESSION_COOKIE
from labelhub_app.db import session_scope
from labelhub_app.models import User
from labelhub_app.services import accounts, images, market, reputation
from labelhub_app.services import annotations as ann
from tests.browser.flows import PASSWORD, open_page, unique
from tests.browser.test_box_editor_component import click
from tests.factories import make_user
from tests.images import make_jpeg

pytestmark = pytest.mark.browser

Services = Callable[[], AbstractContextManager[None]]
W, H = 640, 480

EDITOR_READY = """(imageId) => {
  const e = window.__lhEditor;
  return !!e && e.imageReady && e.readyAt !== null && !!e.engine.img
         && e.engine.img.src.includes('/images/' + imageId + '/')
         && e.lastDrawn === e.store.boxes.length;
}"""


@dataclass
class Person:
    email: str
    user_id: int
    pseudonym: str


@dataclass
class World:
    producer: Person
    reviewer: Person
    tag: str
    image_ids: list[str]  # upload order; the queue shows the newest first
    box_id: str  # the oldest image's one box


def _person(services: Services, *roles: str, name: str) -> Person:
    email = f"{unique(name)}@example.com"
    with services(), session_scope() as session:
        user = make_user(session, *roles, email=email)
        return Person(email, int(user.id or 0), user.pseudonym)


@pytest.fixture
def world(app_services: Services) -> World:
    producer = _person(app_services, "producer", name="petra")
    reviewer = _person(app_services, "reviewer", name="rex")
    tag = unique("rv")
    box_id = unique("box-")  # box ids are unique across the whole database
    seed = random.randrange(1 << 30)
    with app_services(), session_scope() as session:
        owner = session.get(User, producer.user_id)
        ids = []
        for i in range(3):  # one at a time: distinct upload times, a stable queue order
            [result] = images.ingest_images(
                session,
                actor=owner,
                files=[images.UploadedFile(f"photo-{i + 1}.jpg", make_jpeg(W, H, seed=seed + i))],
                labels=("dog", tag),
                price_cents=100,
                licence="standard",
            )
            assert result.ok, result.message
            ids.append(result.image_id or "")
        ann.save_annotations(  # the oldest image has a box the reviewer will move
            session,
            actor=owner,
            image_id=ids[0],
            base_revision=1,
            edits=[
                ann.BoxEdit(
                    "create",
                    {"id": box_id, "label": "dog", "x": 100, "y": 100, "w": 200, "h": 150},
                )
            ],
        )
    return World(producer, reviewer, tag, ids, box_id)


def _sign_in(page: Page, services: Services, person: Person) -> None:
    """Signed in through the service (the sign-in page has its own tests): the session cookie."""
    with services(), session_scope() as session:
        token = accounts.sign_in(session, email=person.email, password=PASSWORD)
    open_page(page, "/")
    page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": token, "url": page.url, "httpOnly": True}]
    )
    open_page(page, "/")
    expect(page.locator("#account-menu")).to_be_visible()


def _wait_image(page: Page, image_id: str) -> None:
    page.wait_for_function(EDITOR_READY, arg=image_id)


def _card_score(page: Page, tag: str) -> str:
    open_page(page, f"/?label={tag}")
    cards = page.locator(".image-card")
    expect(cards).to_have_count(3)
    expect(cards.first.locator(".producer-reviews")).to_be_visible()
    return cards.first.locator(".producer-score").inner_text().strip()


def test_accept_reject_fix_then_producer_and_market_see_it(  # type: ignore[no-untyped-def]
    new_page, shot, app_services: Services, world: World
) -> None:
    newest, middle, oldest = reversed(world.image_ids)

    # the market before any review: the prior's score, 0 reviews
    visitor = new_page()
    assert _card_score(visitor, world.tag) == str(reputation.PRIOR.score)
    expect(visitor.locator(".producer-reviews").first).to_have_text("0 reviews")

    page = new_page()
    _sign_in(page, app_services, world.reviewer)
    page.get_by_role("link", name="Review", exact=True).first.click()
    expect(page.locator("#review-page")).to_be_visible()
    page.fill("#review-producer", world.producer.pseudonym)
    page.press("#review-producer", "Enter")
    expect(page.locator("#review-position")).to_have_text("1 of 3")
    expect(page.locator("#review-producer-name")).to_have_text(world.producer.pseudonym)
    _wait_image(page, newest)
    page.locator("#review-producer").blur()
    shot(page, "review-queue")

    # J / K move through the queue without a verdict
    page.keyboard.press("j")
    expect(page.locator("#review-position")).to_have_text("2 of 3")
    page.keyboard.press("k")
    expect(page.locator("#review-position")).to_have_text("1 of 3")
    _wait_image(page, newest)

    # A: accept
    page.keyboard.press("a")
    expect(page.locator("#review-notice")).to_contain_text("Accepted the labels of photo-3.jpg")
    expect(page.locator("#review-position")).to_have_text("1 of 2")
    _wait_image(page, middle)

    # R: the reason field takes the focus; an empty reason is refused; Enter sends
    page.click("#review-reject")
    expect(page.get_by_role("alert")).to_contain_text("Say why you reject")
    page.locator("#review-reason").blur()
    page.keyboard.press("r")
    expect(page.locator("#review-reason")).to_be_focused()
    page.keyboard.type("Not a dog: it is a fox.")
    page.keyboard.press("Enter")
    expect(page.locator("#review-notice")).to_contain_text("Rejected the labels of photo-2.jpg")
    expect(page.locator("#review-position")).to_have_text("1 of 1")
    _wait_image(page, oldest)

    # F: fix; add a tag with the picker, move the box 10 px with the keys, Ctrl+S saves
    page.keyboard.press("f")
    expect(page.locator("#review-fixing")).to_be_visible()
    tags = page.locator("#review-tags")
    tags.click()
    tags.press_sequentially("fox")
    tags.press("Enter")
    expect(tags.locator("xpath=..")).to_contain_text("fox")
    click(page, 200, 175)  # the box's centre: selects it (and takes the focus off the field)
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=world.box_id)
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#review-pending")).to_contain_text("1 box changes, tags changed")
    shot(page, "review-fixing")
    page.keyboard.press("Control+s")
    diff = page.locator("#review-diff")
    expect(diff).to_contain_text("moved box dog at (100, 100) 200x150 → (110, 100) 200x150")
    expect(diff).to_contain_text("added tag fox")
    expect(page.locator("#review-notice")).to_contain_text("Saved your fix of photo-1.jpg")
    expect(page.get_by_text("Nothing to review")).to_be_visible()
    shot(page, "review-fixed-diff")

    # the fix is the reviewer's revision of the image
    with app_services(), session_scope() as session:
        producer = session.get(User, world.producer.user_id)
        view = ann.load_annotations(session, actor=producer, image_id=oldest)
        assert view.tags == sorted(["dog", "fox", world.tag])
        assert [(b["x"], b["y"]) for b in view.boxes] == [(110.0, 100.0)]
        [latest, *_] = ann.list_revisions(session, actor=producer, image_id=oldest)
        assert (latest.author, latest.kind) == (world.reviewer.pseudonym, "review")

    # the producer sees every outcome and the reason on the dashboard
    mine = new_page()
    _sign_in(mine, app_services, world.producer)
    open_page(mine, "/dashboard")
    card = mine.locator("#producer-reviews")
    expect(card.locator(".review-row")).to_have_count(3)
    expect(card.locator(".review-outcome")).to_have_text(["fixed", "rejected", "accepted"])
    expect(card.locator(".review-reason")).to_have_text(["“Not a dog: it is a fox.”"])
    expect(card).to_contain_text("moved box dog")
    expected = reputation.estimate(1, 1, 1)
    expect(mine.locator("#my-quality")).to_contain_text(f"{expected.score} from 3 reviews")
    shot(mine, "review-producer-dashboard")

    # the market shows the new score and the review count beside the pseudonym
    assert _card_score(visitor, world.tag) == str(expected.score)
    expect(visitor.locator(".producer-reviews").first).to_have_text("3 reviews")
    shot(visitor, "review-market-score")
    # the market's quality filter: this producer's score is below 50, so nothing is left
    visitor.click("#min-quality")
    visitor.get_by_role("option", name="Score 50 or more").click()
    expect(visitor.locator("#result-total")).to_have_text("0")
    visitor.click("#min-quality")
    visitor.get_by_role("option", name="Any producer").click()
    expect(visitor.locator("#result-total")).to_have_text("3")


def test_buyer_rates_a_bought_image_once(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services, world: World
) -> None:
    buyer = _person(app_services, "consumer", name="bea")
    image_id = world.image_ids[0]
    with app_services(), session_scope() as session:
        consumer = session.get(User, buyer.user_id)
        project = market.create_project(session, actor=consumer, name=unique("set"))
        market.buy_images(
            session,
            buyer=consumer,
            project_id=project.public_id,
            image_ids=[image_id],
            idempotency_key=unique("k"),
        )
    _sign_in(page, app_services, buyer)
    open_page(page, f"/images/{image_id}")
    expect(page.locator("#image-rating")).to_have_text("No ratings yet")
    expect(page.locator("#producer-reviews")).to_have_text("0 reviews")
    page.click("#rate-4")
    page.fill("#rating-comment", "Tight boxes, one dog missed.")
    page.click("#save-rating")
    expect(page.locator("#rating-notice")).to_contain_text("you rated this image 4/5")
    expect(page.locator("#image-rating")).to_have_text("4.0 / 5 from 1 rating")
    shot(page, "review-rating")
    # a second rating of the same purchase updates the first, and says so
    page.click("#rate-2")
    page.click("#save-rating")
    expect(page.locator("#rating-notice")).to_contain_text(
        "updated to 2/5 (one rating per purchase)"
    )
    expect(page.locator("#image-rating")).to_have_text("2.0 / 5 from 1 rating")
    # the purchases page shows the buyer's own rating and links to the image to change it
    open_page(page, "/purchases")
    expect(page.locator(".purchase-rating")).to_have_text(["2"])
    shot(page, "review-purchases-rating")
