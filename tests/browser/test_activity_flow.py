"""The activity page (/activity): one's own label operations, newest first, filtered by action.

Two producers edit their own images through the services (the editor's save path); the first one
opens Activity from the account menu and sees exactly their operations, never the other's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from labelhub_app.models import User
from labelhub_app.services import annotations as ann
from labelhub_app.services import images
from tests.browser.flows import path_is, sign_in, unique
from tests.factories import make_user
from tests.images import make_jpeg

pytestmark = pytest.mark.browser

Services = Callable[[], AbstractContextManager[None]]


def _box(box_id: str, label: str, x: float, y: float, w: float = 100, h: float = 80) -> dict:
    return {"id": box_id, "label": label, "x": x, "y": y, "w": w, "h": h, "source": "human"}


def _labelled_image(session, user: User, name: str, tags: tuple[str, ...], seed: int) -> str:  # type: ignore[no-untyped-def]
    [result] = images.ingest_images(
        session,
        actor=user,
        files=[images.UploadedFile(name, make_jpeg(640, 480, seed=seed))],
        labels=tags,
        price_cents=100,
        licence="standard",
    )
    assert result.ok, result.message
    return result.image_id or ""


@pytest.fixture
def two_producers(app_services: Services) -> dict[str, str]:
    """Mine: tag cat at upload; save 1 adds boxes a, b; save 2 moves a, deletes b, adds tag kite.
    Theirs: another producer's image with a box of their own."""
    seed = random.randrange(1 << 30)
    mine, theirs = unique("mine-") + ".jpg", unique("theirs-") + ".jpg"
    with app_services(), session_scope() as session:
        me = make_user(session, "producer", email=f"{unique('ada')}@example.com")
        other = make_user(session, "producer", email=f"{unique('bob')}@example.com")
        image_id = _labelled_image(session, me, mine, ("cat",), seed)
        a, b = _box(unique("a"), "dog", 50, 60), _box(unique("b"), "cat", 300, 200)
        ann.save_annotations(
            session,
            actor=me,
            image_id=image_id,
            base_revision=1,
            edits=[ann.BoxEdit("create", a), ann.BoxEdit("create", b)],
        )
        ann.save_annotations(
            session,
            actor=me,
            image_id=image_id,
            base_revision=2,
            edits=[ann.BoxEdit("update", {**a, "x": 70}), ann.BoxEdit("delete", b)],
            tags=["cat", "kite"],
        )
        their_image = _labelled_image(session, other, theirs, (), seed + 1)
        ann.save_annotations(
            session,
            actor=other,
            image_id=their_image,
            base_revision=0,
            edits=[ann.BoxEdit("create", _box(unique("c"), "horse", 10, 10))],
        )
        return {
            "email": me.email,
            "pseudonym": me.pseudonym,
            "other": other.pseudonym,
            "image_id": image_id,
            "mine": mine,
            "theirs": theirs,
        }


def _filter(page: Page, title: str) -> None:
    page.locator("#activity-action").click()
    page.get_by_role("option", name=title, exact=True).click()
    expect(page.locator("#activity-action")).to_contain_text(title)


def test_activity_lists_my_operations_with_filters(  # type: ignore[no-untyped-def]
    page: Page, shot, two_producers: dict[str, str]
) -> None:
    me = two_producers
    sign_in(page, email=me["email"])
    page.locator("#account-menu").click()
    page.get_by_role("menuitem", name="Activity").click()
    expect(page).to_have_url(path_is("/activity"))

    rows = page.locator(".activity-row")
    expect(rows).to_have_count(6)  # 2 tags added, 2 boxes created, 1 moved, 1 deleted
    expect(page.get_by_text("6 actions")).to_be_visible()
    for text in rows.all_inner_texts():
        assert me["pseudonym"] in text and me["mine"] in text, text
    expect(page.locator(".activity-row", has_text=me["theirs"])).to_have_count(0)
    expect(page.locator(".activity-row", has_text=me["other"])).to_have_count(0)
    # newest first: the second save's operations (revision 3) come before the upload's tag
    expect(rows.first.locator("td").last).to_have_text("3")
    expect(rows.last).to_contain_text("added tag cat")
    expect(rows.last.locator("td").last).to_have_text("1")
    shot(page, "activity-all")

    expected = {
        "Box created": ["added box dog at (50, 60) 100x80", "added box cat at (300, 200) 100x80"],
        "Box changed": ["moved box dog at (50, 60) 100x80 → (70, 60) 100x80"],
        "Box deleted": ["removed box cat at (300, 200) 100x80"],
        "Tag added": ["added tag kite", "added tag cat"],
        "Tag removed": [],
    }
    for title, details in expected.items():
        _filter(page, title)
        if details:
            expect(rows).to_have_count(len(details))
            for detail in details:
                expect(page.locator(".activity-row", has_text=detail)).to_have_count(1)
            for text in rows.all_inner_texts():
                assert title in text, text
        else:
            expect(page.get_by_text("No activity yet")).to_be_visible()
            expect(rows).to_have_count(0)
    _filter(page, "Box created")
    shot(page, "activity-created")
    _filter(page, "All actions")
    expect(rows).to_have_count(6)

    # a row's image opens the editor on it
    rows.first.get_by_role("link", name=me["mine"]).click()
    expect(page).to_have_url(path_is(f"/label/{me['image_id']}"))
    expect(page.locator("#editor-title")).to_have_text(me["mine"])
