"""Accounts in the browser: sign in (and its error), sessions across reloads, sign out, profile."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from tests.browser.flows import PASSWORD, nav, open_page, path_is, sign_in, unique, wait_ready
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def producer_email(app_services) -> str:  # type: ignore[no-untyped-def]
    """A producer made through the services (quicker than the sign-up page, tested elsewhere)."""
    email = f"{unique('pat')}@example.com"
    with app_services(), session_scope() as session:
        make_user(session, "producer", email=email)
    return email


def _sign_out(page: Page) -> None:
    page.click("#account-menu")
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(path_is("/signin"))


def test_sign_in_session_and_sign_out(page: Page, shot, producer_email: str) -> None:  # type: ignore[no-untyped-def]
    open_page(page, "/signin")
    page.fill("#email", producer_email)
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    expect(page).to_have_url(path_is("/signin"))
    expect(page.locator("#account-menu")).to_have_count(0)
    shot(page, "10-signin-error")

    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/dashboard"))
    expect(page.locator("#account-menu")).to_be_visible()

    page.reload()
    wait_ready(page)
    expect(page).to_have_url(path_is("/dashboard"))
    expect(page.locator("#account-menu")).to_be_visible()
    expect(page.get_by_role("heading", name="Your images")).to_be_visible()

    _sign_out(page)
    expect(page.locator("#account-menu")).to_have_count(0)
    open_page(page, "/dashboard")
    expect(page).to_have_url(re.compile(r"/signin/?\?next=(/|%2F)dashboard/?$"))
    # the old session is gone on the server too: signing in again is needed
    sign_in(page, email=producer_email)
    expect(page).to_have_url(path_is("/dashboard"))


def test_profile_changes_are_saved(page: Page, shot, producer_email: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, email=producer_email)
    expect(page.get_by_role("link", name="Projects", exact=True)).to_have_count(0)
    page.click("#account-menu")
    page.get_by_role("menuitem", name="Profile").click()
    expect(page).to_have_url(path_is("/profile"))
    pseudonym = page.locator("#pseudonym")
    expect(pseudonym).not_to_be_empty()

    name = unique("Patricia ")
    page.fill("#display-name", name)
    consumer = page.locator("#role-consumer")
    expect(consumer).to_have_attribute("aria-checked", "false")
    consumer.click()
    expect(consumer).to_have_attribute("aria-checked", "true")
    page.click("#save-profile")
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator("#account-menu")).to_contain_text(name)
    expect(page.get_by_role("link", name="Projects", exact=True)).to_be_visible()
    shot(page, "11-profile-saved")

    page.reload()
    wait_ready(page)
    expect(page.locator("#display-name")).to_have_value(name)
    expect(page.locator("#role-consumer")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#role-producer")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("link", name="Projects", exact=True)).to_be_visible()
    nav(page, "Projects")
    expect(page).to_have_url(path_is("/projects"))
