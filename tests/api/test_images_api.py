"""Images through the API: upload batches, own lists with cursors, detail, edits, permissions."""

from __future__ import annotations

from labelhub_app.services import images
from tests.api.conftest import assert_error, user_with_token
from tests.factories import make_image, make_user
from tests.images import make_jpeg, make_png


def test_upload_lands_good_files_and_reports_bad_ones(client, session):
    _, headers = user_with_token(session, "producer")
    files = [
        ("files", ("a.jpg", make_jpeg(320, 240, seed=1), "image/jpeg")),
        ("files", ("b.png", make_png(200, 150, seed=2), "image/png")),
        ("files", ("notes.txt", b"not an image", "text/plain")),
        ("files", ("again.jpg", make_jpeg(320, 240, seed=1), "image/jpeg")),
    ]
    r = client.post(
        "/api/v1/images",
        files=files,
        data={"labels": "Dog, cat", "price_cents": "250", "licence": "cc-by-4.0"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["uploaded"], body["failed"]) == (2, 2)
    ok = [x for x in body["results"] if x["ok"]]
    assert [x["file_name"] for x in ok] == ["a.jpg", "b.png"]
    bad = {x["file_name"]: x for x in body["results"] if not x["ok"]}
    assert bad["again.jpg"]["duplicate_of"] == ok[0]["image_id"]
    assert bad["notes.txt"]["message"]
    image = client.get(f"/api/v1/images/{ok[0]['image_id']}", headers=headers).json()
    assert image["labels"] == ["cat", "dog"] and image["licence"] == "cc-by-4.0"
    assert image["is_own"] is True and image["price_cents"] == 250


def test_upload_needs_the_producer_role_and_valid_fields(client, session):
    _, consumer = user_with_token(session, "consumer")
    _, producer = user_with_token(session, "producer")
    files = [("files", ("a.jpg", make_jpeg(64, 64, seed=3), "image/jpeg"))]
    assert_error(client.post("/api/v1/images", files=files, data={"price_cents": "1"}), 401)
    r = client.post("/api/v1/images", files=files, data={"price_cents": "1"}, headers=consumer)
    assert_error(r, 403, "forbidden")
    r = client.post("/api/v1/images", files=files, data={"price_cents": "-5"}, headers=producer)
    assert_error(r, 422)
    r = client.post(
        "/api/v1/images",
        files=files,
        data={"price_cents": "5", "licence": "mine"},
        headers=producer,
    )
    assert "licence" in assert_error(r, 422)["message"]
    assert_error(client.post("/api/v1/images", data={"price_cents": "5"}, headers=producer), 422)


def test_own_images_walk_with_a_cursor_exactly_once(client, session):
    producer, headers = user_with_token(session, "producer")
    made = {make_image(session, producer).public_id for _ in range(7)}
    other = make_user(session, "producer")
    make_image(session, other)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/images", params=params, headers=headers).json()
        assert page["total"] == 7
        seen += [i["id"] for i in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == made
    # a cursor belongs to its filters
    first = client.get("/api/v1/images", params={"limit": 3}, headers=headers).json()
    r = client.get(
        "/api/v1/images", params={"cursor": first["next_cursor"], "sort": "name"}, headers=headers
    )
    assert "cursor" in assert_error(r, 422)["message"]


def test_patch_image_changes_labels_price_licence_and_sale(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer, labels=("dog",))
    url = f"/api/v1/images/{image.public_id}"
    r = client.patch(url, json={"labels": ["cat", "Tabby"], "price_cents": 999}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["labels"] == ["cat", "tabby"] and r.json()["price_cents"] == 999
    r = client.patch(url, json={"on_sale": False, "licence": "cc0-1.0"}, headers=headers)
    assert r.json()["on_sale"] is False and r.json()["licence"] == "cc0-1.0"
    # withdrawn: anonymous visitors no longer see it
    assert_error(client.get(url), 404)
    assert_error(client.patch(url, json={}, headers=headers), 422)
    assert_error(client.patch(url, json={"price_cents": -1}, headers=headers), 422)


def test_others_cannot_change_an_image(client, session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    _, stranger = user_with_token(session, "producer")
    _, consumer = user_with_token(session, "consumer")
    url = f"/api/v1/images/{image.public_id}"
    assert_error(client.patch(url, json={"price_cents": 1}), 401)
    assert_error(client.patch(url, json={"price_cents": 1}, headers=stranger), 403)
    assert_error(client.patch(url, json={"price_cents": 1}, headers=consumer), 403)
    assert client.get(url).json()["is_own"] is False  # on sale: anyone may look
    assert_error(client.get("/api/v1/images", headers=consumer), 403)
    assert_error(client.get("/api/v1/images"), 401)
    assert images.get_image(session, image.public_id).price_cents == 250
