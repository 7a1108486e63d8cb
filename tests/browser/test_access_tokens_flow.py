"""Access tokens on the profile page, used against the REST API; the API docs render offline."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from tests.browser.flows import open_page, sign_in, unique
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def consumer_email(app_services) -> str:  # type: ignore[no-untyped-def]
    email = f"{unique('tok')}@example.com"
    with app_services(), session_scope() as session:
        make_user(session, "consumer", email=email)
    return email


def test_create_use_and_revoke_an_access_token(  # type: ignore[no-untyped-def]
    page: Page, shot, app_url: str, consumer_email: str
) -> None:
    sign_in(page, email=consumer_email)
    open_page(page, "/profile")
    expect(page.get_by_role("heading", name="Access tokens")).to_be_visible()
    page.fill("#token-name", "training laptop")
    page.click("#create-token")
    shown = page.locator("#new-token")
    expect(shown).to_contain_text("lh_pat_")
    token = shown.inner_text().strip()
    expect(page.locator(".token-row")).to_contain_text("training laptop")
    shot(page, "70-profile-new-token")

    api = page.context.request
    me = api.get(f"{app_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200 and me.json()["email"] == consumer_email

    page.get_by_role("button", name="Done").click()
    expect(shown).to_have_count(0)
    page.get_by_role("button", name="Revoke training laptop").click()
    expect(page.locator(".token-row")).to_have_count(0)
    refused = api.get(f"{app_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401 and refused.json()["error"]["code"] == "not_authenticated"

    open_page(page, "/profile")  # shown once: a reload never shows a token again
    expect(page.locator("#new-token")).to_have_count(0)


def test_api_docs_render_with_nothing_from_outside(page: Page, shot, app_url: str) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []

    def only_ours(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(app_url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LabelHub API")
    expect(page.get_by_text("/api/v1/search").first).to_be_visible()
    shot(page, "71-api-docs")
    assert outside == []
