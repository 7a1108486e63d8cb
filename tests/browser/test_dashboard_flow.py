"""The producer dashboard: edit an image's labels and price, withdraw one, filter by status."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from tests.browser.flows import open_page, path_is, sign_in, unique
from tests.factories import make_image, make_user

pytestmark = pytest.mark.browser

NAMES = ("edit-me.jpg", "withdraw-me.jpg", "keep-me.jpg")


@pytest.fixture
def producer(app_services) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A producer with three images on sale at 2.50, all labelled dog + a tag of their own."""
    email, tag = f"{unique('dora')}@example.com", unique("kite-")
    seed = random.randrange(1 << 30)
    with app_services(), session_scope() as session:
        user = make_user(session, "producer", email=email)
        for i, name in enumerate(NAMES):
            make_image(
                session, user, labels=("dog", tag), price_cents=250, name=name, seed=seed + i
            )
    return email, tag


def _row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(".own-row").filter(has=page.locator(".own-name", has_text=name))


def _chips(row) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.strip() for t in row.locator(".own-labels .rt-Badge").all_inner_texts()}


def _market_names(page: Page, tag: str, expected_total: int) -> set[str]:
    open_page(page, "/")
    search = page.locator("#market-search")
    search.click()
    search.press_sequentially(tag)
    search.press("Enter")
    expect(page.locator("#result-total")).to_have_text(str(expected_total))
    cards = page.locator(".image-card")
    expect(cards).to_have_count(expected_total)
    return {t.strip() for t in cards.locator(".rt-Text").filter(has_text=".jpg").all_inner_texts()}


def _status_filter(page: Page, current: str, choice: str) -> None:
    page.get_by_role("combobox").filter(has_text=current).click()
    page.get_by_role("option", name=choice, exact=True).click()


def test_edit_withdraw_and_filter(page: Page, shot, producer: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    email, tag = producer
    sign_in(page, email=email)
    expect(page).to_have_url(path_is("/dashboard"))
    expect(page.locator(".own-row")).to_have_count(3)

    # edit labels and price through the dialog
    row = _row(page, "edit-me.jpg")
    row.locator(".edit-image").click()
    labels = page.locator("#edit-labels")
    expect(labels).to_have_value(f"dog, {tag}")
    labels.fill(f"cat, {tag}, red kite")
    page.fill("#edit-price", "4.20")
    shot(page, "20-dashboard-edit")
    page.click("#save-edit")
    expect(page.locator("#edit-labels")).to_have_count(0)
    expect(page.get_by_text("Saved edit-me.jpg")).to_be_visible()
    expect(row.locator(".own-price")).to_have_text("4.20")
    expect(row.locator(".own-labels")).to_contain_text("red kite")
    assert _chips(row) == {"cat", tag, "red kite"}

    # withdraw one: it leaves the market
    _row(page, "withdraw-me.jpg").get_by_role("button", name="Withdraw").click()
    expect(_row(page, "withdraw-me.jpg")).to_contain_text("Withdrawn")
    expect(_row(page, "withdraw-me.jpg").get_by_role("button", name="Offer again")).to_be_visible()
    shot(page, "21-dashboard-withdrawn")

    # status filter
    _status_filter(page, "All images", "On sale")
    expect(page.locator(".own-row")).to_have_count(2)
    expect(_row(page, "withdraw-me.jpg")).to_have_count(0)
    _status_filter(page, "On sale", "Withdrawn")
    expect(page.locator(".own-row")).to_have_count(1)
    expect(_row(page, "withdraw-me.jpg")).to_have_count(1)
    _status_filter(page, "Withdrawn", "All images")
    expect(page.locator(".own-row")).to_have_count(3)

    names = _market_names(page, tag, expected_total=2)
    assert names == {"edit-me.jpg", "keep-me.jpg"}
    expect(page.locator(".image-card", has_text="edit-me.jpg").locator(".card-price")).to_have_text(
        "4.20"
    )
    shot(page, "22-market-after-withdraw")

    # and the edited labels are searchable
    assert _market_names(page, "red kite", expected_total=1) == {"edit-me.jpg"}
