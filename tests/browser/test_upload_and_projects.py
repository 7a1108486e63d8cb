"""Dropping files on the upload zone (not the file picker), duplicates and empty files; the
project page: owned badges, rename and archive."""

from __future__ import annotations

import base64
import random

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.db import session_scope
from tests.browser.flows import open_page, sign_in, unique
from tests.factories import make_image, make_project, make_user
from tests.images import make_jpeg

pytestmark = pytest.mark.browser


def _drop(page: Page, files: list[tuple[str, bytes]]) -> None:
    """Drop files on #upload the way a browser does: a DataTransfer with File objects."""
    payload = [{"name": n, "b64": base64.b64encode(d).decode()} for n, d in files]
    data_transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, {type: "image/jpeg"}));
            }
            return dt;
        }""",
        payload,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("#upload", event, {"dataTransfer": data_transfer})


def test_drop_files_with_a_duplicate_and_an_empty_one(page: Page, shot, app_services) -> None:  # type: ignore[no-untyped-def]
    email = f"{unique('drop')}@example.com"
    seed = random.randrange(1 << 30)
    existing = make_jpeg(320, 240, seed=seed)
    with app_services(), session_scope() as session:
        user = make_user(session, "producer", email=email)
    sign_in(page, email=email)
    open_page(page, "/upload")
    # the first file lands first, so that the second copy of it is an exact duplicate
    _drop(page, [("first.jpg", existing)])
    expect(page.locator(".selected-file")).to_have_count(1)
    page.click("#start-upload")
    expect(page.locator("#upload-summary")).to_contain_text("1 of 1")

    _drop(
        page, [("again.jpg", existing), ("empty.jpg", b""), ("fresh.jpg", make_jpeg(seed=seed + 1))]
    )
    expect(page.locator(".selected-file")).to_have_count(3)
    page.click("#start-upload")
    summary = page.locator("#upload-summary")
    expect(summary).to_contain_text("1 of 3 images uploaded")
    rows = page.locator(".upload-row")
    expect(rows.nth(0)).to_contain_text("Duplicate")
    expect(rows.nth(0).get_by_role("link")).to_contain_text("exact duplicate")
    expect(rows.nth(1)).to_contain_text("empty")
    expect(rows.nth(2)).to_contain_text("Uploaded")
    shot(page, "30-upload-dropped")
    # the duplicate's link leads to the image already on LabelHub
    rows.nth(0).get_by_role("link").click()
    expect(page.locator("#image-name")).to_have_text("first.jpg")
    assert user.email == email


def test_project_page_owned_rename_archive(page: Page, shot, app_services) -> None:  # type: ignore[no-untyped-def]
    from labelhub_app.services import market

    email = f"{unique('proj')}@example.com"
    with app_services(), session_scope() as session:
        producer = make_user(session, "producer")
        consumer = make_user(session, "consumer", email=email)
        pics = [
            make_image(session, producer, price_cents=150, seed=random.randrange(1 << 30))
            for _ in range(3)
        ]
        project = make_project(session, consumer, unique("Birds "))
        market.add_to_project(
            session,
            actor=consumer,
            project_id=project.public_id,
            image_ids=[p.public_id for p in pics],
        )
        market.buy_images(
            session,
            buyer=consumer,
            project_id=project.public_id,
            image_ids=[pics[0].public_id],
            idempotency_key="first",
        )
        project_id = project.public_id
    sign_in(page, email=email)
    open_page(page, f"/projects/{project_id}")
    expect(page.locator(".owned-badge")).to_have_count(1)
    expect(page.locator("#buy-rest")).to_be_visible()
    expect(page.get_by_text("2 images not bought yet")).to_be_visible()
    page.click("#buy-rest")
    expect(page.locator(".owned-badge")).to_have_count(3)
    page.get_by_role("button", name="Rename").click()
    new_name = unique("Seabirds ")
    page.fill("#rename-to", new_name)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#project-title")).to_have_text(new_name)
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    shot(page, "31-project-archived")
    open_page(page, "/projects")
    expect(page.locator(".project-name", has_text=new_name)).to_have_count(0)
    page.get_by_role("switch").click()
    expect(page.locator(".project-name", has_text=new_name)).to_have_count(1)
