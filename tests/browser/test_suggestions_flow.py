"""Suggestions in the editor: the detector's dashed boxes accepted (A, the button, "accept all
above a score") and rejected (X), saved, reloaded; the operation log has each decision.

The suggestions are written as the worker writes them: a save through services/annotations.py
by a detector account (boxes with source "model" and a score), then the model version stamped
(services/suggestions.stamp_model_version). Everything else goes through the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from labelhub_app.db import session_scope
from labelhub_app.models import Box, Image, Operation, User
from labelhub_app.services import annotations as ann
from labelhub_app.services import suggestions as sug
from tests.browser.flows import sign_in
from tests.browser.test_editor_flow import (
    Person,
    _make_images,
    _person,
    boxes,
    open_editor,
    save_status,
    wait_boxes,
)

pytestmark = pytest.mark.browser

Services = Callable[[], AbstractContextManager[None]]
VERSION = str(uuid.uuid4())


def _suggest(services: Services, image_id: str, scores: list[tuple[str, float]]) -> list[str]:
    """Write one suggestion per (label, score), left to right; returns their ids."""
    detector = _person(services, "reviewer", name="detector")
    ids = [str(uuid.uuid4()) for _ in scores]
    with services(), session_scope() as session:
        actor = session.get(User, detector.user_id)
        image = session.exec(select(Image).where(Image.public_id == image_id)).one()
        edits = [
            ann.BoxEdit(
                "create",
                {
                    "id": box_id,
                    "label": label,
                    "x": 20 + 150 * i,
                    "y": 100 + 40 * i,
                    "w": 120,
                    "h": 100,
                    "source": "model",
                    "score": score,
                },
            )
            for i, (box_id, (label, score)) in enumerate(zip(ids, scores, strict=True))
        ]
        ann.save_annotations(
            session, actor=actor, image_id=image_id, base_revision=image.revision, edits=edits
        )
        sug.stamp_model_version(
            session, image_id=int(image.id or 0), box_ids=ids, model_version=VERSION
        )
    return ids


def _db(services: Services, image_id: str) -> tuple[dict[str, Box], list[str]]:
    """The image's box rows by id, and its operation-log actions (oldest first)."""
    with services(), session_scope() as session:
        image = session.exec(select(Image).where(Image.public_id == image_id)).one()
        rows = {b.public_id: b for b in session.exec(select(Box).where(Box.image_id == image.id))}
        for row in rows.values():
            session.expunge(row)
        actions = [
            o.action
            for o in session.exec(
                select(Operation).where(Operation.image_id == image.id).order_by(Operation.id)
            )
        ]
    return rows, actions


def _sources(page: Page) -> dict[str, str]:
    return {b["id"]: b["source"] for b in boxes(page)}


def _selected(page: Page) -> Any:
    return page.evaluate("() => window.__lhEditor.selectedId")


@pytest.fixture
def producer(app_services: Services) -> Person:
    return _person(app_services, "producer", name="sue")


def test_accept_with_a_and_the_button_reject_with_x_save_and_reload(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services, producer: Person
) -> None:
    (image_id,) = _make_images(app_services, producer, 1, ("dog",))
    s1, s2, s3, s4 = _suggest(
        app_services, image_id, [("dog", 0.95), ("cat", 0.85), ("dog", 0.6), ("cat", 0.3)]
    )
    sign_in(page, email=producer.email)
    open_editor(page, image_id)
    expect(page.locator("#suggestion-count")).to_have_text("4")
    shot(page, "suggestions-editor")
    # the help lists the new keys
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_contain_text("reject the selected suggestion")
    shot(page, "suggestions-help")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_have_count(0)

    # Tab selects the best suggestion; its score shows in the side panel
    page.keyboard.press("Tab")
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=s1)
    expect(page.locator("#selected-suggestion")).to_contain_text("0.95")
    shot(page, "suggestions-selected")

    # A accepts it and moves on to the next best
    page.keyboard.press("a")
    wait_boxes(page, lambda bs: {b["id"]: b["source"] for b in bs}[s1] == "human")
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=s2)
    expect(page.locator("#selected-suggestion")).to_contain_text("0.85")
    expect(page.locator("#suggestion-count")).to_have_text("3")

    # the Accept button does the same
    page.locator("#accept-suggestion").click()
    wait_boxes(page, lambda bs: {b["id"]: b["source"] for b in bs}[s2] == "human")
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=s3)

    # X rejects: the box goes, the last suggestion is selected
    page.keyboard.press("x")
    wait_boxes(page, lambda bs: s3 not in {b["id"] for b in bs})
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=s4)
    expect(page.locator("#suggestion-count")).to_have_text("1")
    expect(save_status(page)).to_have_text("3 unsaved changes")

    page.keyboard.press("Control+s")
    expect(save_status(page)).to_contain_text("2 accepted, 1 rejected")
    shot(page, "suggestions-saved")

    # reloaded: accepted ones are solid human boxes, the rejected one is gone
    open_editor(page, image_id)
    assert _sources(page) == {s1: "human", s2: "human", s4: "model"}
    expect(page.locator("#suggestion-count")).to_have_text("1")
    rows, actions = _db(app_services, image_id)
    assert set(rows) == {s1, s2, s4}
    assert (rows[s1].source, rows[s1].score, rows[s1].accepted_score) == ("human", None, 0.95)
    assert (rows[s2].accepted_score, rows[s2].model_version) == (0.85, VERSION)
    assert rows[s1].verified_by_id == producer.user_id
    assert actions.count("accept") == 2 and actions.count("reject") == 1
    # the history names the decisions
    expect(page.locator(".revision-row").first).to_contain_text("2 accepted, 1 rejected")
    # the rejected one will not come back from the same model
    with app_services(), session_scope() as session:
        image = session.exec(select(Image).where(Image.public_id == image_id)).one()
        again = [{"label": "dog", "x": 320, "y": 180, "w": 120, "h": 100}]
        assert sug.drop_rejected(session, image_id=int(image.id or 0), detections=again) == []


def test_accept_all_above_threshold(  # type: ignore[no-untyped-def]
    page: Page, shot, app_services: Services, producer: Person
) -> None:
    (image_id,) = _make_images(app_services, producer, 1, ("dog",))
    ids = _suggest(
        app_services, image_id, [("dog", 0.92), ("cat", 0.71), ("dog", 0.55), ("cat", 0.2)]
    )
    sign_in(page, email=producer.email)
    open_editor(page, image_id)
    accept_all = page.locator("#accept-all")
    expect(accept_all).to_contain_text("Accept all ≥ 0.80 (1)")  # the default threshold
    page.locator("#threshold").fill("0.5")
    expect(accept_all).to_contain_text("Accept all ≥ 0.50 (3)")
    shot(page, "suggestions-accept-all")
    accept_all.click()
    wait_boxes(page, lambda bs: sum(b["source"] == "human" for b in bs) == 3)
    assert _sources(page)[ids[3]] == "model"
    expect(page.locator("#suggestion-count")).to_have_text("1")

    # one undo step takes all three back; redo again
    page.keyboard.press("Control+z")
    wait_boxes(page, lambda bs: all(b["source"] == "model" for b in bs))
    page.keyboard.press("Control+Shift+z")
    wait_boxes(page, lambda bs: sum(b["source"] == "human" for b in bs) == 3)

    page.locator("#save").click()
    expect(save_status(page)).to_contain_text("3 accepted")
    open_editor(page, image_id)
    assert _sources(page) == {ids[0]: "human", ids[1]: "human", ids[2]: "human", ids[3]: "model"}
    _, actions = _db(app_services, image_id)
    assert actions.count("accept") == 3
