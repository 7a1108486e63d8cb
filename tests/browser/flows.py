"""Steps a person takes on LabelHub, shared by the browser tests and bench/page.py."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Reflex calls these hooks (window.__reflex_otel) when its websocket connects or drops. Once it
# has connected, React has hydrated the page: clicks reach their handlers and events are sent.
# Every browser context gets it as an init script; wait_ready() waits for it after a page load.
SOCKET_PROBE = """
window.__lhSocket = false;
window.__reflex_otel = Object.assign(window.__reflex_otel || {}, {
  onSocketConnect() { window.__lhSocket = true; },
  onSocketDisconnect() { window.__lhSocket = false; },
});
"""


def chromium_path() -> str | None:
    """Debian's Chromium (or $LABELHUB_CHROMIUM); Playwright's own browsers are never installed."""
    for candidate in (
        os.environ.get("LABELHUB_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


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
    """A pattern for ``expect(page).to_have_url``: this path, a trailing / or not, any query."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


def set_radix_checkbox(page: Page, selector: str, checked: bool) -> None:
    box = page.locator(selector)
    if (box.get_attribute("aria-checked") == "true") != checked:
        box.click()
    expect(box).to_have_attribute("aria-checked", "true" if checked else "false")


def sign_up(
    page: Page,
    *,
    name: str,
    email: str,
    password: str = PASSWORD,
    producer: bool = True,
    consumer: bool = False,
    verify_email: bool = True,
) -> None:
    """Create an account through /signup; returns on the page the app sends new people to.

    A producer's email address is verified through the outbox unless ``verify_email=False``.
    """
    open_page(page, "/signup")
    page.fill("#display_name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    set_radix_checkbox(page, "#role_producer", producer)
    set_radix_checkbox(page, "#role_consumer", consumer)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-menu")).to_contain_text(name)
    if producer and verify_email:
        landing = page.url
        verify_email_from_outbox(page, email)
        open_page(page, landing)
        expect(page.locator("#account-menu")).to_contain_text(name)


def verify_email_from_outbox(page: Page, email: str) -> None:
    """Open the verification email in the dev outbox page (/dev/outbox) and follow its link.

    Producers must verify their address before their images go on sale (#9).
    """
    page.goto(f"/dev/outbox?to={email}")  # a plain HTML page: no websocket to wait for
    href = page.locator("a[href*='/verify-email?token=']").first.get_attribute("href") or ""
    open_page(page, href[href.index("/verify-email") :])  # as if clicked in a mail program
    expect(page.locator("#email-verified")).to_contain_text(email)


def sign_in(page: Page, *, email: str, password: str = PASSWORD) -> None:
    open_page(page, "/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#account-menu")).to_be_visible()


ACCOUNT_MENU_PAGES = ("Profile", "Payouts", "Wallet", "Activity", "Jobs", "Models")


def nav(page: Page, text: str) -> None:
    """Follow a link in the top navigation, or an entry of the account menu, as a person would."""
    if text in ACCOUNT_MENU_PAGES:
        page.locator("#account-menu").click()
        page.get_by_role("menuitem", name=text, exact=True).click()
        return
    page.get_by_role("link", name=text, exact=True).first.click()
