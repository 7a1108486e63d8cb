"""Annotations through the API: ETag / If-Match, replacing boxes and tags, revisions, restore."""

from __future__ import annotations

from labelhub_app.services import annotations, market
from labelhub_app.services.annotations import BoxEdit
from tests.api.conftest import assert_error, bearer, user_with_token
from tests.factories import make_image, make_project, make_user


def _box(label: str, x: float, **extra):  # type: ignore[no-untyped-def]
    return {"label": label, "x": x, "y": 10, "w": 50, "h": 40, **extra}


def test_etag_and_if_match(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer, labels=("dog",))
    url = f"/api/v1/images/{image.public_id}/annotations"
    r = client.get(url, headers=headers)
    assert r.status_code == 200 and r.headers["etag"] == '"rev-1"'
    assert r.json() == {
        "image_id": image.public_id,
        "revision": 1,
        "boxes": [],
        "tags": ["dog"],
        "summary": None,
    }

    body = {"boxes": [_box("dog", 5), _box("cat", 100)], "tags": ["dog", "pets"]}
    missing = client.put(url, json=body, headers=headers)
    assert "If-Match" in assert_error(missing, 428, "precondition_required")["message"]
    stale = client.put(url, json=body, headers={**headers, "If-Match": '"rev-0"'})
    assert "Reload" in assert_error(stale, 412, "precondition_failed")["message"]
    assert_error(client.put(url, json=body, headers={**headers, "If-Match": "nonsense"}), 412)

    saved = client.put(url, json=body, headers={**headers, "If-Match": '"rev-1"'})
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"rev-2"'
    state = saved.json()
    assert state["revision"] == 2 and state["tags"] == ["dog", "pets"]
    assert sorted(b["label"] for b in state["boxes"]) == ["cat", "dog"]
    assert "2 added" in state["summary"]

    # the same ETag again is now stale, with the editor's message
    again = client.put(url, json=body, headers={**headers, "If-Match": '"rev-1"'})
    error = assert_error(again, 412)
    assert error["message"].startswith("This image was saved by")

    # keep the dog (by id, moved), drop the cat, add a bird; tags untouched
    dog = next(b for b in state["boxes"] if b["label"] == "dog")
    body2 = {"boxes": [{**dog, "x": 20}, _box("bird", 200, id="client-made-id")]}
    r = client.put(url, json=body2, headers={**headers, "If-Match": saved.headers["etag"]})
    assert r.status_code == 200, r.text
    boxes = {b["label"]: b for b in r.json()["boxes"]}
    assert set(boxes) == {"dog", "bird"} and boxes["dog"]["id"] == dog["id"]
    assert boxes["dog"]["x"] == 20 and boxes["bird"]["id"] != "client-made-id"
    assert r.json()["tags"] == ["dog", "pets"] and r.headers["etag"] == '"rev-3"'


def test_a_save_in_the_editor_makes_the_api_etag_stale(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer)
    url = f"/api/v1/images/{image.public_id}/annotations"
    etag = client.get(url, headers=headers).headers["etag"]
    annotations.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[BoxEdit("create", {"id": "b-1", **_box("dog", 1)})],
    )
    r = client.put(url, json={"boxes": []}, headers={**headers, "If-Match": etag})
    assert_error(r, 412)
    assert len(client.get(url, headers=headers).json()["boxes"]) == 1


def test_who_may_read_and_write_annotations(client, session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    url = f"/api/v1/images/{image.public_id}/annotations"
    _, stranger = user_with_token(session, "consumer")
    buyer, buyer_headers = user_with_token(session, "consumer")
    _, reviewer = user_with_token(session, "reviewer")
    assert_error(client.get(url), 401)
    assert_error(client.get(url, headers=stranger), 403)
    project = make_project(session, buyer)
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="k",
    )
    assert client.get(url, headers=buyer_headers).status_code == 200
    put = {"boxes": [_box("dog", 1)]}
    r = client.put(url, json=put, headers={**buyer_headers, "If-Match": '"rev-1"'})
    assert_error(r, 403, "forbidden")
    r = client.put(url, json=put, headers={**reviewer, "If-Match": '"rev-1"'})
    assert r.status_code == 200
    assert_error(client.get("/api/v1/images/nope/annotations", headers=reviewer), 404)
    bad = {"boxes": [_box("dog", 5000)]}  # outside the 320x240 image
    r = client.put(url, json=bad, headers={**reviewer, "If-Match": '"rev-2"'})
    assert "cover some of the image" in assert_error(r, 422)["message"]


def test_revisions_and_restore(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer, labels=("dog",))
    base = f"/api/v1/images/{image.public_id}"
    for i, etag in enumerate(('"rev-1"', '"rev-2"', '"rev-3"')):
        body = {"boxes": [_box("dog", 10 * i)], "tags": ["dog"]}
        r = client.put(f"{base}/annotations", json=body, headers={**headers, "If-Match": etag})
        assert r.status_code == 200, r.text
    revisions = client.get(f"{base}/revisions", params={"limit": 2}, headers=headers).json()
    assert [r["number"] for r in revisions["items"]] == [4, 3]
    # a save during the walk does not shift the pages
    body = {"boxes": [_box("dog", 77)]}
    r = client.put(f"{base}/annotations", json=body, headers={**headers, "If-Match": '"rev-4"'})
    assert r.headers["etag"] == '"rev-5"'
    rest = client.get(
        f"{base}/revisions", params={"cursor": revisions["next_cursor"]}, headers=headers
    ).json()
    assert [r["number"] for r in rest["items"]] == [2, 1] and rest["next_cursor"] is None

    old = client.get(f"{base}/revisions/2", headers=headers).json()
    assert old["revision"] == 2 and old["boxes"][0]["x"] == 0
    assert_error(client.get(f"{base}/revisions/99", headers=headers), 404)

    restore = f"{base}/revisions/2/restore"
    assert_error(client.post(restore, headers=headers), 428)
    assert_error(client.post(restore, headers={**headers, "If-Match": '"rev-4"'}), 412)
    r = client.post(restore, headers={**headers, "If-Match": '"rev-5"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"rev-6"' and r.json()["boxes"][0]["x"] == 0
    assert "restored revision 2" in r.json()["summary"]
    _, stranger = user_with_token(session, "producer")
    assert_error(client.post(restore, headers={**stranger, "If-Match": '"rev-6"'}), 403)
    assert_error(client.get(f"{base}/revisions", headers=bearer(session, make_user(session))), 403)
