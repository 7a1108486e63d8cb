"""Labelling campaigns in the browser: a tiled task done with keys only; three labellers and
a consolidation that becomes the image's labels."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelhub_app.db import session_scope
from labelhub_app.models import User
from labelhub_app.models.campaigns import Campaign, CampaignAnswer
from labelhub_app.services import annotations, campaigns
from tests.browser.flows import nav, open_page, path_is, sign_in, unique
from tests.factories import make_image, make_user

pytestmark = pytest.mark.browser


def _people(app_services, n_images: int, tag: str, labellers: int):  # type: ignore[no-untyped-def]
    """An owner with ``n_images`` images tagged ``tag`` (and dog), and ``labellers`` producers."""
    seed = random.randrange(1 << 30)
    with app_services(), session_scope() as session:
        owner = make_user(session, "producer", email=f"{unique('owner')}@example.com")
        pics = [
            make_image(session, owner, labels=("dog", tag), name=f"pic-{i}.jpg", seed=seed + i)
            for i in range(n_images)
        ]
        team = [
            make_user(session, "producer", email=f"{unique('lab')}@example.com")
            for _ in range(labellers)
        ]
        return owner.email, [p.public_id for p in pics], [u.email for u in team]


def _tile_ids(page: Page) -> list[str]:
    return page.locator(".tile").evaluate_all("els => els.map(e => e.dataset.image)")


def test_tiled_task_with_keys_only(page: Page, shot, app_services) -> None:  # type: ignore[no-untyped-def]
    tag = unique("park-")
    owner_email, pics, [labeller_email] = _people(app_services, 12, tag, 1)
    with app_services(), session_scope() as session:
        owner = session.exec(select(User).where(User.email == owner_email)).one()
        campaign = campaigns.create_campaign(
            session,
            actor=owner,
            name="Dogs?",
            labels=["dog"],
            labellers_per_image=1,
            image_ids=pics,
        )
        campaign_id = campaign.public_id

    sign_in(page, email=labeller_email)
    open_page(page, f"/campaigns/{campaign_id}/tiles")
    expect(page.locator("#tile-question")).to_have_text("dog")
    expect(page.locator(".tile").nth(11)).to_be_visible()  # 12 (more if gold images exist)
    expect(page.locator(".tile-key").nth(0)).to_have_text("1")
    expect(page.locator(".tile-key").nth(10)).to_have_text("Q")
    order = _tile_ids(page)
    # keys only: 1, 3 and Q toggle tiles 1, 3 and 11; then the cursor (on 11, the last toggled)
    # goes up a row (6) and right (7), and Space toggles tile 7
    for key in ("1", "3", "q"):
        page.keyboard.press(key)
    expect(page.locator("#selected-count")).to_contain_text("3")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.locator("#selected-count")).to_contain_text("4")
    assert page.evaluate("window.scrollY") == 0  # Space toggled a tile, it did not scroll
    page.keyboard.press("3")  # toggling again clears tile 3
    expect(page.locator("#selected-count")).to_contain_text("3")
    expect(page.locator(".tile-selected")).to_have_count(3)
    shot(page, "campaign-tiled-grid")
    page.keyboard.press("Enter")
    expect(page.locator("#tile-notice")).to_contain_text("(3 selected)")
    expect(page.get_by_text("Nothing left for you here")).to_be_visible()
    shot(page, "campaign-tiled-done")

    expected = {order[0], order[6], order[10]}
    with app_services(), session_scope() as session:
        c = session.exec(select(Campaign).where(Campaign.public_id == campaign_id)).one()
        answers = session.exec(
            select(CampaignAnswer).where(CampaignAnswer.campaign_id == c.id)
        ).all()
        from labelhub_app.models import Image

        yes = {
            session.get(Image, a.image_id).public_id  # type: ignore[union-attr]
            for a in answers
            if a.present
        }
    assert len(answers) == 12
    assert yes == expected


def test_three_labellers_consolidate(new_page, shot, app_services) -> None:  # type: ignore[no-untyped-def]
    tag = unique("kites-")
    owner_email, pics, team = _people(app_services, 4, tag, 3)
    owner_page = new_page()
    sign_in(owner_page, email=owner_email)
    nav(owner_page, "Campaigns")
    expect(owner_page).to_have_url(path_is("/campaigns"))
    expect(owner_page.get_by_text("No campaigns yet")).to_be_visible()
    shot(owner_page, "campaigns-empty")
    owner_page.click("#new-campaign")
    owner_page.fill("#campaign-name", "Cats among the kites")
    owner_page.fill("#campaign-filter", tag)
    owner_page.fill("#campaign-labels", "cat")
    owner_page.fill("#campaign-threshold", "70")
    shot(owner_page, "campaign-create")
    owner_page.click("#create-campaign")
    expect(owner_page.locator("#campaign-title")).to_have_text("Cats among the kites")
    campaign_id = owner_page.url.rstrip("/").rsplit("/", 1)[-1]

    # pics 0 and 1 show a cat for everyone; on pic 2 the labellers split; pic 3 has none
    says = {pics[0]: True, pics[1]: True, pics[3]: False}
    with app_services(), session_scope() as session:
        for n, email in enumerate(team[:2]):
            labeller = session.exec(select(User).where(User.email == email)).one()
            task = campaigns.next_task(session, actor=labeller, campaign_id=campaign_id)
            chosen = [t.image_id for t in task.tiles if says.get(t.image_id, n == 0)]  # type: ignore[union-attr]
            campaigns.submit_tiled_task(
                session, actor=labeller, task_id=task.public_id, selected=chosen
            )  # type: ignore[union-attr]

    # the third labeller in the browser: finds the campaign, clicks the tiles that show a cat
    third = new_page()
    sign_in(third, email=team[2])
    nav(third, "Campaigns")
    expect(third.locator(".campaign-card").first).to_be_visible()
    shot(third, "campaigns-open-to-join")
    third.locator(".campaign-card").filter(has_text="Cats among the kites").get_by_role(
        "button", name="Join"
    ).click()
    expect(third.locator("#campaign-title")).to_have_text("Cats among the kites")
    expect(third.get_by_text("4 answers still wanted from you")).to_be_visible()
    shot(third, "campaign-labeller-view")
    third.click("#start-labelling")
    expect(third.locator(".tile").nth(3)).to_be_visible()
    for pid in (pics[0], pics[1]):
        third.locator(f'.tile[data-image="{pid}"]').click()
    third.click("#submit-page")
    expect(third.get_by_text("Nothing left for you here")).to_be_visible()

    # the owner consolidates: agreement per labeller and per image, one image to review
    open_page(owner_page, f"/campaigns/{campaign_id}")
    expect(owner_page.locator(".labeller-row")).to_have_count(3)
    owner_page.click("#consolidate")
    expect(owner_page.locator("#campaign-notice")).to_contain_text("Consolidated 4 images")
    expect(owner_page.locator("#campaign-notice")).to_contain_text("1 sent to review")
    rows = owner_page.locator(".campaign-image-row")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="pic-0.jpg").locator(".image-result")).to_have_text("cat")
    expect(rows.filter(has_text="pic-2.jpg")).to_contain_text("in review")
    expect(rows.filter(has_text="pic-3.jpg")).to_contain_text("100%")
    shot(owner_page, "campaign-consolidated")

    # the consolidated label is on the image, with the consensus revision in its history
    with app_services(), session_scope() as session:
        from labelhub_app.services import images

        tags = {
            pid: annotations.current_tags(session, images.get_image(session, pid).id)
            for pid in pics
        }  # type: ignore[arg-type]
    assert "cat" in tags[pics[0]] and "cat" in tags[pics[1]] and "cat" not in tags[pics[3]]
    open_page(owner_page, f"/images/{pics[0]}")
    expect(owner_page.get_by_text("cat", exact=True).first).to_be_visible()
    shot(owner_page, "campaign-image-with-consensus-label")


def test_boxes_campaign_in_the_editor(page: Page, shot, app_services) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.test_box_editor_component import drag

    tag = unique("boxes-")
    owner_email, pics, [labeller_email] = _people(app_services, 1, tag, 1)
    with app_services(), session_scope() as session:
        owner = session.exec(select(User).where(User.email == owner_email)).one()
        campaign = campaigns.create_campaign(
            session,
            actor=owner,
            name="Dog boxes",
            kind="boxes",
            labels=["dog", "cat"],
            labellers_per_image=2,
            image_ids=pics,
        )
        campaign_id = campaign.public_id

    sign_in(page, email=labeller_email)
    open_page(page, f"/campaigns/{campaign_id}/boxes")
    page.wait_for_function("() => !!window.__lhEditor && window.__lhEditor.imageReady")
    # the labeller starts from an empty image: not the owner's labels, nobody's answers
    assert page.evaluate("() => window.__lhEditor.store.boxes.length") == 0
    drag(page, (40, 40), (200, 160))
    expect(page.locator("#box-count")).to_contain_text("1")
    shot(page, "campaign-boxes")
    page.keyboard.press(" ")  # save and next
    expect(page.get_by_text("Nothing left for you here")).to_be_visible()
    with app_services(), session_scope() as session:
        c = session.exec(select(Campaign).where(Campaign.public_id == campaign_id)).one()
        [answer] = session.exec(
            select(CampaignAnswer).where(CampaignAnswer.campaign_id == c.id)
        ).all()
    [box] = answer.boxes or []
    assert box["label"] == "dog"
    assert abs(box["x"] - 40) < 3 and abs(box["w"] - 160) < 3
