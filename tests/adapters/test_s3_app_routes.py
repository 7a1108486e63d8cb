"""The app's image and download routes with LABELHUB_STORAGE=s3 (a real SeaweedFS).

Uploads land in the bucket; thumbnails and originals answer with a 307 to a short-lived
presigned URL, after the same permission checks as with the local store; project downloads
stream from the bucket.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelhub_app import db
from labelhub_app.adapters.storage import get_store
from labelhub_app.adapters.storage.s3 import S3ObjectStore
from labelhub_app.api.app import api
from labelhub_app.config import SESSION_COOKIE, Settings, reset_settings
from labelhub_app.services import accounts, images, market
from tests.backends import SeaweedS3
from tests.factories import PASSWORD, make_image, make_project, make_user


@pytest.fixture
def s3_session(
    settings: Settings, seaweed: SeaweedS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    for name, value in seaweed.env(s3_bucket).items():
        monkeypatch.setenv(name, value)
    reset_settings()
    get_store.cache_clear()
    assert isinstance(get_store(), S3ObjectStore)
    with db.session_scope() as session:
        yield session
    get_store.cache_clear()


@pytest.fixture
def client(s3_session: Session) -> TestClient:
    return TestClient(api, follow_redirects=False)


def _fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, b"", {}


def _cookie(session: Session, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = accounts.sign_in(session, email=user.email, password=PASSWORD)
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def test_uploads_land_in_the_bucket(s3_session: Session) -> None:
    producer = make_user(s3_session, "producer")
    image = make_image(s3_session, producer)
    store = get_store()
    keys = set(store.iter_keys())
    assert image.object_key in keys
    assert images.thumbnail_key(image, images.THUMB_SMALL) in keys
    assert store.size(image.object_key) == image.size_bytes


def test_thumbnails_redirect_to_presigned_urls(client: TestClient, s3_session: Session) -> None:
    producer = make_user(s3_session, "producer")
    image = make_image(s3_session, producer)
    r = client.get(f"/api/v1/images/{image.public_id}/thumb/256")
    assert r.status_code == 307 and r.headers["cache-control"].startswith("public")
    location = r.headers["location"]
    assert "X-Amz-Signature=" in location
    status, body, headers = _fetch(location)
    assert status == 200 and body[:2] == b"\xff\xd8" and headers["Content-Type"] == "image/jpeg"
    # the checks before the redirect still apply
    assert client.get(f"/api/v1/images/{image.public_id}/thumb/77").status_code == 404
    images.set_image_on_sale(s3_session, actor=producer, public_id=image.public_id, on_sale=False)
    assert client.get(f"/api/v1/images/{image.public_id}/thumb/256").status_code == 404
    private = f"/api/v1/images/{image.public_id}/private-thumb/256"
    assert client.get(private).status_code == 403
    r = client.get(private, headers=_cookie(s3_session, producer))
    assert r.status_code == 307 and r.headers["cache-control"] == "private, max-age=60"
    assert _fetch(r.headers["location"])[0] == 200


def test_originals_only_for_owner_and_buyers(client: TestClient, s3_session: Session) -> None:
    producer = make_user(s3_session, "producer")
    buyer, stranger = make_user(s3_session, "consumer"), make_user(s3_session, "consumer")
    image = make_image(s3_session, producer)
    url = f"/api/v1/images/{image.public_id}/original"
    assert client.get(url).status_code == 401
    r = client.get(url, headers=_cookie(s3_session, stranger))
    assert r.status_code == 403 and "location" not in r.headers
    project = make_project(s3_session, buyer)
    market.buy_images(
        s3_session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="k",
    )
    r = client.get(url, headers=_cookie(s3_session, buyer))
    assert r.status_code == 307 and r.headers["cache-control"] == "private, no-store"
    status, body, headers = _fetch(r.headers["location"])
    assert status == 200 and len(body) == image.size_bytes
    assert "attachment" in headers["Content-Disposition"]
    # the object itself is not public: without the signature it is refused
    bare = r.headers["location"].split("?")[0]
    assert _fetch(bare)[0] == 403


def test_project_download_streams_from_the_bucket(client: TestClient, s3_session: Session) -> None:
    producer = make_user(s3_session, "producer")
    buyer = make_user(s3_session, "consumer")
    pics = [make_image(s3_session, producer, labels=("cat",)) for _ in range(2)]
    project = make_project(s3_session, buyer, "Cats")
    market.buy_images(
        s3_session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[p.public_id for p in pics],
        idempotency_key="k",
    )
    r = client.get(
        f"/api/v1/projects/{project.public_id}/download", headers=_cookie(s3_session, buyer)
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    photos = [n for n in archive.namelist() if n.startswith("images/")]
    assert len(photos) == 2
    assert sorted(len(archive.read(n)) for n in photos) == sorted(p.size_bytes for p in pics)
