"""Single sign-on in the browser: "Sign in with Mock ID" through oidc-provider-mock's own page."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OIDC_PROVIDER_NAME
from tests.browser.flows import open_page, path_is, sign_in, unique, wait_ready
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _provider_knows(issuer: str, subject: str, **claims: object) -> None:
    httpx.put(f"{issuer}/users/{subject}", json=claims, timeout=10).raise_for_status()


def _authorize_at_provider(page: Page, subject: str) -> None:
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize").click()


def test_new_person_signs_in_with_the_provider_then_chooses_roles(  # type: ignore[no-untyped-def]
    page: Page, shot, oidc_issuer: str
) -> None:
    subject, email = unique("oidc-"), f"{unique('olga')}@example.com"
    _provider_knows(oidc_issuer, subject, email=email, email_verified=True, name="Olga Oidc")

    open_page(page, "/signin")
    button = page.get_by_role("link", name=f"Sign in with {OIDC_PROVIDER_NAME}")
    expect(button).to_be_visible()
    shot(page, "40-signin-with-provider")
    button.click()
    expect(page).to_have_url(path_is("/oauth2/authorize"))
    shot(page, "41-provider-authorize")
    _authorize_at_provider(page, subject)

    # back on LabelHub, signed in, with a new account that has no role yet
    expect(page).to_have_url(path_is("/profile"))
    wait_ready(page)
    expect(page.locator("#account-menu")).to_contain_text("Olga Oidc")
    expect(page.get_by_role("status").first).to_contain_text("Welcome to LabelHub")
    shot(page, "42-oidc-welcome-profile")
    page.locator("#role-consumer").click()
    page.click("#save-profile")
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    rows = page.locator(".session-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("single sign-on")

    # the session cookie is HttpOnly and reaches the API
    assert all(c["httpOnly"] for c in page.context.cookies() if c["name"] == "lh_session")
    assert "lh_session" not in page.evaluate("document.cookie")


def test_existing_account_is_linked_by_verified_email_and_password_still_works(  # type: ignore[no-untyped-def]
    new_page, app_services, oidc_issuer: str
) -> None:
    from labelhub_app.db import session_scope

    email, subject = f"{unique('lars')}@example.com", unique("oidc-")
    with app_services(), session_scope() as session:
        make_user(session, "producer", email=email)
    _provider_knows(oidc_issuer, subject, email=email, email_verified=True)

    page = new_page()
    open_page(page, "/signin?next=/upload")
    link = page.get_by_role("link", name=f"Sign in with {OIDC_PROVIDER_NAME}")
    expect(link).to_have_attribute("href", re.compile(r"next=/upload$"))
    link.click()
    _authorize_at_provider(page, subject)
    expect(page).to_have_url(path_is("/upload"))
    expect(page.locator("#account-menu")).to_be_visible()

    other = new_page()
    sign_in(other, email=email)
    expect(other).to_have_url(path_is("/dashboard"))


def test_provider_denial_is_explained(page: Page) -> None:
    open_page(page, "/signin")
    page.get_by_role("link", name=f"Sign in with {OIDC_PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_role("button", name="Deny").click()
    expect(page).to_have_url(path_is("/signin"))
    expect(page.get_by_role("alert")).to_contain_text(f"{OIDC_PROVIDER_NAME} did not sign you in")
    expect(page.locator("#account-menu")).to_have_count(0)
