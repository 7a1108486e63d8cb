"""Account security in the browser: password reset through the mail outbox, the lockout message,
"sign out everywhere" across two browsers, and the verify-your-email banner for producers."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from tests.browser.flows import (
    PASSWORD,
    open_page,
    path_is,
    sign_in,
    sign_up,
    unique,
    verify_email_from_outbox,
    wait_ready,
)
from tests.browser.server import RunningApp
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def producer_email(app_services) -> str:  # type: ignore[no-untyped-def]
    email = f"{unique('sec')}@example.com"
    with app_services(), session_scope() as session:
        make_user(session, "producer", email=email)
    return email


def _latest_link(running: RunningApp, to: str, path: str) -> str:
    """The link in the newest .eml written to the app's outbox folder for ``to``."""
    outbox = running.data_dir / "outbox"
    for eml in sorted(outbox.glob("*.eml"), reverse=True):
        with eml.open("rb") as fh:
            message = BytesParser(policy=policy.default).parse(fh)
        if message["To"] != to:
            continue
        body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(rf"https?://\S+{re.escape(path)}\?token=\S+", body)
        assert match, body
        return match.group(0)
    raise AssertionError(f"no mail to {to} in {outbox}")


def test_password_reset_end_to_end(
    page: Page, shot, running: RunningApp, producer_email: str
) -> None:  # type: ignore[no-untyped-def]
    open_page(page, "/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(path_is("/forgot-password"))
    wait_ready(page)
    page.fill("#email", producer_email)
    shot(page, "30-forgot-password")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#reset-sent")).to_contain_text(producer_email)
    shot(page, "31-reset-link-sent")

    link = _latest_link(running, producer_email, "/reset-password")
    parts = urlsplit(link)
    open_page(page, f"{parts.path}?{parts.query}")
    expect(page.get_by_text(producer_email)).to_be_visible()
    page.fill("#password", "my new password 2")
    page.fill("#confirm", "my new password 2")
    shot(page, "32-reset-password-form")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#reset-done")).to_contain_text("Your password is changed")
    shot(page, "33-reset-password-done")

    # the link works once
    open_page(page, f"{parts.path}?{parts.query}")
    expect(page.get_by_role("alert")).to_contain_text("used already")

    # the old password no longer works, the new one does
    open_page(page, "/signin")
    page.fill("#email", producer_email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    sign_in(page, email=producer_email, password="my new password 2")
    expect(page).to_have_url(path_is("/dashboard"))


def test_lockout_message_after_too_many_wrong_passwords(
    page: Page, shot, producer_email: str
) -> None:  # type: ignore[no-untyped-def]
    open_page(page, "/signin")
    for _ in range(5):
        page.fill("#email", producer_email)
        page.fill("#password", "not my password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
        wait_ready(page)
    # the email stays filled in after an error; now even the right password is refused
    expect(page.locator("#email")).to_have_value(producer_email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Too many attempts; try again in 5 minutes.")
    expect(page.locator("#account-menu")).to_have_count(0)
    shot(page, "34-signin-locked")


def test_sign_out_everywhere_ends_the_other_browser_too(
    new_page, shot, producer_email: str
) -> None:  # type: ignore[no-untyped-def]
    laptop, phone = new_page(), new_page()
    sign_in(laptop, email=producer_email)
    sign_in(phone, email=producer_email)

    open_page(laptop, "/profile")
    rows = laptop.locator(".session-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="This device")).to_have_count(1)
    expect(rows.first).to_contain_text("Headless Chrome on Linux")
    shot(laptop, "35-profile-sessions")

    laptop.click("#sign-out-everywhere")
    expect(laptop.get_by_role("alertdialog")).to_contain_text("Sign out everywhere?")
    shot(laptop, "36-sign-out-everywhere-confirm")
    laptop.click("#confirm-sign-out-everywhere")
    expect(laptop).to_have_url(path_is("/signin"))
    open_page(laptop, "/dashboard")
    expect(laptop).to_have_url(re.compile(r"/signin/?\?next="))

    # the other browser is signed out as well
    open_page(phone, "/dashboard")
    expect(phone).to_have_url(re.compile(r"/signin/?\?next="))
    expect(phone.locator("#account-menu")).to_have_count(0)


def test_revoke_one_session_from_the_profile(new_page, producer_email: str) -> None:  # type: ignore[no-untyped-def]
    laptop, phone = new_page(), new_page()
    sign_in(laptop, email=producer_email)
    sign_in(phone, email=producer_email)
    open_page(laptop, "/profile")
    other = laptop.locator(".session-row").filter(has_not_text="This device")
    expect(other).to_have_count(1)
    other.get_by_role("button", name=re.compile("^Revoke session")).click()
    expect(laptop.locator(".session-row")).to_have_count(1)
    open_page(phone, "/dashboard")
    expect(phone).to_have_url(re.compile(r"/signin/?\?next="))
    open_page(laptop, "/dashboard")  # this browser stays signed in
    expect(laptop).to_have_url(path_is("/dashboard"))


def test_the_session_token_never_reaches_page_scripts_or_the_websocket(  # type: ignore[no-untyped-def]
    page: Page, producer_email: str
) -> None:
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda f: frames.append(str(f))),
            ws.on("framesent", lambda f: frames.append(str(f))),
        ),
    )
    sign_in(page, email=producer_email)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "lh_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "lh_session" not in page.evaluate("document.cookie")
    open_page(page, "/profile")  # the page that lists sessions
    expect(page.locator(".session-row")).to_have_count(1)
    assert frames, "no websocket traffic was captured"
    assert not [f for f in frames if cookie["value"] in f]


def test_unverified_producer_sees_the_banner_until_verified(page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    email = f"{unique('newbie')}@example.com"
    sign_up(page, name="Nell Newbie", email=email, verify_email=False)
    expect(page).to_have_url(path_is("/dashboard"))
    banner = page.locator("#verify-email-banner")
    expect(banner).to_contain_text("Verify your email address to sell")
    expect(banner).to_contain_text(email)
    page.click("#resend-verification")  # the first mail is seconds old: asked to wait
    expect(page.locator("#verify-notice")).to_contain_text("less than a minute ago")
    shot(page, "37-dashboard-verify-banner")
    open_page(page, "/upload")
    expect(page.locator("#verify-email-banner")).to_be_visible()

    verify_email_from_outbox(page, email)
    shot(page, "38-email-verified")
    open_page(page, "/dashboard")
    expect(page.locator("#account-menu")).to_contain_text("Nell Newbie")
    expect(page.locator("#verify-email-banner")).to_have_count(0)
