"""Labels, the operation log and annotation imports through the API."""

from __future__ import annotations

import io
import json
import zipfile

from labelhub_app.services import accounts
from tests.api.conftest import assert_error, bearer, user_with_token
from tests.factories import make_image, make_user


def test_label_autocomplete_and_new_labels(client, session):
    assert client.get("/api/v1/labels", params={"prefix": "gir"}).json() == {"labels": ["giraffe"]}
    assert client.get("/api/v1/labels").json() == {"labels": []}
    _, producer = user_with_token(session, "producer")
    r = client.post("/api/v1/labels", json={"name": "Corgi", "parent": "dog"}, headers=producer)
    assert r.status_code == 201, r.text
    assert r.json()["parent"] == "dog" and r.json()["path"][-2:] == ["dog", "corgi"]
    assert_error(client.post("/api/v1/labels", json={"name": "corgi"}, headers=producer), 409)
    r = client.post("/api/v1/labels", json={"name": "x", "parent": "no such"}, headers=producer)
    assert_error(r, 404)
    assert_error(client.post("/api/v1/labels", json={"name": "corgi"}), 401)
    assert client.get("/api/v1/labels", params={"prefix": "cor", "limit": 1}).json()["labels"] == [
        "corgi"
    ]


def test_operations_are_ones_own_and_admins_see_everyone(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer, labels=("dog", "cat"))
    other = make_user(session, "producer")
    make_image(session, other, labels=("owl",))
    url = f"/api/v1/images/{image.public_id}/annotations"
    client.put(
        url,
        json={"boxes": [{"label": "dog", "x": 1, "y": 1, "w": 20, "h": 20}]},
        headers={**headers, "If-Match": '"rev-1"'},
    )
    ops = client.get("/api/v1/operations", params={"limit": 2}, headers=headers).json()
    assert ops["total"] == 3 and len(ops["items"]) == 2 and ops["next_cursor"]
    assert ops["items"][0]["action"] == "create" and ops["items"][0]["image_id"] == image.public_id
    rest = client.get("/api/v1/operations", params={"cursor": ops["next_cursor"]}, headers=headers)
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    tags = client.get("/api/v1/operations", params={"action": "tag_add"}, headers=headers).json()
    assert tags["total"] == 2
    assert_error(client.get("/api/v1/operations", params={"action": "dance"}, headers=headers), 422)
    assert_error(client.get("/api/v1/operations", params={"everyone": True}, headers=headers), 403)
    admin = make_user(session, "reviewer")
    accounts.set_admin(session, email=admin.email)
    everyone = client.get(
        "/api/v1/operations", params={"everyone": True}, headers=bearer(session, admin)
    ).json()
    assert everyone["total"] == 4
    assert_error(client.get("/api/v1/operations"), 401)


def _coco(file_name: str) -> bytes:
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": file_name, "width": 320, "height": 240}],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 1,
                    "category_id": 1,
                    "bbox": [10, 20, 50, 40],
                    "area": 2000,
                    "iscrowd": 0,
                }
            ],
            "categories": [{"id": 1, "name": "cat"}],
        }
    ).encode()


def test_import_sets_boxes_of_own_images_and_reports_problems(client, session):
    producer, headers = user_with_token(session, "producer")
    image = make_image(session, producer, name="kitty.jpg")
    files = {"file": ("labels.json", _coco("kitty.jpg"), "application/json")}
    r = client.post("/api/v1/imports", params={"format": "coco"}, files=files, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["images_updated"] == 1 and r.json()["boxes"] == 1
    boxes = client.get(f"/api/v1/images/{image.public_id}/annotations", headers=headers).json()
    assert [b["label"] for b in boxes["boxes"]] == ["cat"]

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("dataset/annotations.json", _coco("someone-elses.jpg"))
    files = {"file": ("export", archive.getvalue(), "application/zip")}
    r = client.post("/api/v1/imports", params={"format": "coco"}, files=files, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["images_updated"] == 0 and r.json()["problems"]
    assert "someone-elses.jpg" in json.dumps(r.json()["problems"])

    _, consumer = user_with_token(session, "consumer")
    files = {"file": ("labels.json", _coco("kitty.jpg"), "application/json")}
    assert_error(
        client.post("/api/v1/imports", params={"format": "coco"}, files=files, headers=consumer),
        403,
    )
    assert_error(client.post("/api/v1/imports", params={"format": "coco"}, files=files), 401)
    r = client.post("/api/v1/imports", params={"format": "bmp"}, files=files, headers=headers)
    assert_error(r, 422)
    assert_error(client.post("/api/v1/imports", files=files, headers=headers), 422)
