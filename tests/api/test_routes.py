"""The HTTP routes beside the pages: thumbnails, originals, project downloads, autocomplete."""

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from labelhub_app.api.app import api
from labelhub_app.config import SESSION_COOKIE
from labelhub_app.services import accounts, images, market
from tests.factories import PASSWORD, make_image, make_project, make_user


@pytest.fixture
def client(settings):
    return TestClient(api)


def _token(session, user):
    return accounts.sign_in(session, email=user.email, password=PASSWORD)


def _cookie(session, user):
    """The browser's way: the session token in the lh_session cookie."""
    return {"Cookie": f"{SESSION_COOKIE}={_token(session, user)}"}


def test_health_and_json_404(client):
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_thumbnails_are_public_while_on_sale(client, session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    r = client.get(f"/api/v1/images/{image.public_id}/thumb/256")
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "image/jpeg"
        and r.content[:2] == b"\xff\xd8"
    )
    assert client.get(f"/api/v1/images/{image.public_id}/thumb/77").status_code == 404
    images.set_image_on_sale(session, actor=producer, public_id=image.public_id, on_sale=False)
    assert client.get(f"/api/v1/images/{image.public_id}/thumb/256").status_code == 404
    # its producer still sees it
    cookies = {"Cookie": f"{SESSION_COOKIE}={_token(session, producer)}"}
    assert (
        client.get(
            f"/api/v1/images/{image.public_id}/private-thumb/256", headers=cookies
        ).status_code
        == 200
    )


def test_originals_only_for_owner_and_buyers(client, session):
    producer = make_user(session, "producer")
    buyer, stranger = make_user(session, "consumer"), make_user(session, "consumer")
    image = make_image(session, producer)
    url = f"/api/v1/images/{image.public_id}/original"
    assert client.get(url).status_code == 401
    assert (
        client.get(
            url, headers={"Authorization": f"Bearer {_token(session, stranger)}"}
        ).status_code
        == 403
    )
    project = make_project(session, buyer)
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="k",
    )
    r = client.get(url, headers=_cookie(session, buyer))
    assert r.status_code == 200 and len(r.content) == image.size_bytes
    assert "attachment" in r.headers["content-disposition"]


def test_project_download_streams_a_zip_for_its_owner_only(client, session):
    producer = make_user(session, "producer")
    buyer, stranger = make_user(session, "consumer"), make_user(session, "consumer")
    pics = [make_image(session, producer, labels=("cat",)) for _ in range(2)]
    project = make_project(session, buyer, "Cats")
    url = f"/api/v1/projects/{project.public_id}/download"
    r = client.get(url, headers=_cookie(session, buyer))
    assert r.status_code == 422 and "Nothing to download" in r.json()["error"]["message"]
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[p.public_id for p in pics],
        idempotency_key="k",
    )
    r = client.get(url, headers=_cookie(session, buyer))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "labelhub-cats" in r.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert sum(n.startswith("images/") for n in names) == 2 and "annotations/coco.json" in names
    assert client.get(url, headers=_cookie(session, stranger)).status_code == 404
    assert client.get(url).status_code == 401


def test_label_suggestions(client, session):
    assert client.get("/api/v1/labels/suggest", params={"q": "gir"}).json() == {
        "labels": ["giraffe"]
    }
