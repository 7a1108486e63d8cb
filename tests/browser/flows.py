"""Steps a person takes on LabelHub, shared by the browser tests and bench/page.py."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    """A name no other test uses (the app's database lives for the whole session)."""
    return f"{prefix}{secrets.token_hex(3)}"


def wait_ready(page: Page) -> None:
    """Wait until the page is hydrated and its websocket is connected (events reach the server)."""
    page.wait_for_function("window.__lhSocket === true")


def open_page(page: Page, path: str) -> None:
    """Load ``path`` as a fresh document (a typed URL or a reload) and wait until it is live."""
    page.goto(path)
    wait_ready(page)


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern for ``expect(page).to_have_url``: this path, any query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def set_radix_checkbox(page: Page, selector: str, checked: bool) -> None:
    box = page.locator(selector)
    if (box.get_attribute("aria-checked") == "true") != checked:
        box.click()
    expect(box).to_have_attribute("aria-checked", "true" if checked else "false")


def sign_up(page: Page, *, name: str, email: str, password: str = PASSWORD,
            producer: bool = True, consumer: bool = False) -> None:
    """Create an account through /signup; returns on the page the app sends new people to."""
    open_page(page, "/signup")
    page.fill("#display_name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    set_radix_checkbox(page, "#role_producer", producer)
    set_radix_checkbox(page, "#role_consumer", consumer)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-menu")).to_contain_text(name)


def sign_in(page: Page, *, email: str, password: str = PASSWORD) -> None:
    open_page(page, "/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account-menu")).to_be_visible()


def nav(page: Page, text: str) -> None:
    """Follow a link in the top navigation, as a person would."""
    page.get_by_role("link", name=text, exact=True).first.click()
