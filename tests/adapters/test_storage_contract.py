"""Contract suite for ObjectStore backends: the local file store and S3 on a real SeaweedFS.

Every test in the first part runs against both; the presigned-URL tests need a store that signs
(S3). SeaweedFS is started once per session by tests/adapters/conftest.py.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelhub_app.adapters.storage import ObjectStore, PresigningStore, presigned_url
from labelhub_app.adapters.storage.local import LocalObjectStore
from labelhub_app.adapters.storage.s3 import MIN_PART_BYTES, S3ObjectStore, make_client
from tests.backends import SeaweedS3


def s3_store(server: SeaweedS3, bucket: str, **options: object) -> S3ObjectStore:
    client = make_client(
        endpoint_url=server.endpoint_url,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
    )
    return S3ObjectStore(client, bucket, create_bucket=True, **options)  # type: ignore[arg-type]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed")
    bucket: str = request.getfixturevalue("s3_bucket")
    # a small multipart threshold so that the large-object test goes up in parts
    s3 = s3_store(server, bucket, multipart_threshold=MIN_PART_BYTES)
    yield s3
    for key in list(s3.iter_keys()):
        s3.delete(key)
    s3.client.delete_bucket(Bucket=bucket)


def _read(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


# ------------------------------------------------------------------------------- the port
def test_round_trip_and_metadata(store: ObjectStore) -> None:
    store.put_bytes("originals/ab/abc.jpg", b"\xff\xd8hello", content_type="image/jpeg")
    assert store.exists("originals/ab/abc.jpg")
    assert _read(store, "originals/ab/abc.jpg") == b"\xff\xd8hello"
    assert store.size("originals/ab/abc.jpg") == 7
    assert 0 <= store.age_seconds("originals/ab/abc.jpg") < 600


def test_reading_in_chunks(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    store.put_bytes("exports/x.bin", data)
    parts = []
    with store.open("exports/x.bin") as fh:
        while block := fh.read(65_536):
            parts.append(block)
    assert b"".join(parts) == data and len(parts) >= 5


def test_put_is_idempotent(store: ObjectStore) -> None:
    store.put_bytes("thumbs/256/aa/a.jpg", b"same")
    store.put_bytes("thumbs/256/aa/a.jpg", b"same")
    assert list(store.iter_keys("thumbs/")) == ["thumbs/256/aa/a.jpg"]
    assert _read(store, "thumbs/256/aa/a.jpg") == b"same"


def test_missing_keys(store: ObjectStore) -> None:
    assert not store.exists("originals/none")
    for call in (store.open, store.size, store.age_seconds):
        with pytest.raises(KeyError):
            call("originals/none")
    store.delete("originals/none")  # deleting what is not there is fine


def test_delete(store: ObjectStore) -> None:
    store.put_bytes("a/b", b"1")
    store.delete("a/b")
    assert not store.exists("a/b")
    assert list(store.iter_keys()) == []


def test_iter_keys_by_prefix(store: ObjectStore) -> None:
    keys = {f"originals/{i:02d}/{i}.jpg" for i in range(12)} | {"thumbs/256/x.jpg"}
    for key in keys:
        store.put_bytes(key, key.encode())
    assert set(store.iter_keys()) == keys
    assert set(store.iter_keys("originals/")) == {k for k in keys if k.startswith("originals/")}
    assert set(store.iter_keys("originals/03/")) == {"originals/03/3.jpg"}
    assert list(store.iter_keys("nothing/")) == []


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "a//b", "sp ace", ".hidden"])
def test_invalid_keys_are_refused(store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        store.put_bytes(bad, b"x")


def test_large_object(store: ObjectStore) -> None:
    """Above the multipart threshold (S3: 5 MiB parts) the bytes still round-trip exactly."""
    data = os.urandom(MIN_PART_BYTES * 2 + 12_345)
    store.put_bytes("originals/big.bin", data)
    assert store.size("originals/big.bin") == len(data)
    assert (
        hashlib.sha256(_read(store, "originals/big.bin")).digest() == hashlib.sha256(data).digest()
    )


# ------------------------------------------------------------------------------- S3 only
def test_large_s3_objects_go_up_in_parts(seaweed: SeaweedS3, s3_bucket: str) -> None:
    store = s3_store(
        seaweed, s3_bucket, multipart_threshold=MIN_PART_BYTES, multipart_chunk=MIN_PART_BYTES
    )
    store.put_bytes("originals/big.bin", os.urandom(MIN_PART_BYTES * 2 + 1))
    store.put_bytes("originals/small.bin", b"x" * 1000)
    big = store.client.head_object(Bucket=s3_bucket, Key="originals/big.bin")
    small = store.client.head_object(Bucket=s3_bucket, Key="originals/small.bin")
    assert big["ETag"].strip('"').endswith("-3")  # a multipart ETag names its part count
    assert "-" not in small["ETag"]


def test_thumbnails_cacheable_originals_private(seaweed: SeaweedS3, s3_bucket: str) -> None:
    store = s3_store(seaweed, s3_bucket)
    store.put_bytes("thumbs/256/aa/a.jpg", b"t", content_type="image/jpeg")
    store.put_bytes("originals/aa/a.jpg", b"o", content_type="image/jpeg")
    thumb = store.client.head_object(Bucket=s3_bucket, Key="thumbs/256/aa/a.jpg")
    original = store.client.head_object(Bucket=s3_bucket, Key="originals/aa/a.jpg")
    assert thumb["CacheControl"].startswith("public") and thumb["ContentType"] == "image/jpeg"
    assert original["CacheControl"] == "private"
    # the bucket is not public: an unsigned GET is refused
    assert _status(f"{seaweed.endpoint_url}/{s3_bucket}/originals/aa/a.jpg") == 403


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), response.read(), dict(response.headers)


def test_presigned_get_works(seaweed: SeaweedS3, s3_bucket: str) -> None:
    store = s3_store(seaweed, s3_bucket)
    store.put_bytes("originals/aa/photo.jpg", b"\xff\xd8pixels", content_type="image/jpeg")
    assert isinstance(store, PresigningStore)
    url = presigned_url(store, "originals/aa/photo.jpg", download_name="my photo.jpg")
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    status, body, headers = _get(url)
    assert (status, body) == (200, b"\xff\xd8pixels")
    assert "attachment" in headers["Content-Disposition"]


def test_tampered_presigned_urls_are_refused(seaweed: SeaweedS3, s3_bucket: str) -> None:
    store = s3_store(seaweed, s3_bucket)
    store.put_bytes("originals/aa/mine.jpg", b"mine")
    store.put_bytes("originals/aa/other.jpg", b"other")
    url = store.presigned_url("originals/aa/mine.jpg", expires_s=120)
    assert _status(url) == 200
    # another key with the same signature
    assert _status(url.replace("mine.jpg", "other.jpg")) == 403
    # a longer expiry than was signed
    assert _status(url.replace("X-Amz-Expires=120", "X-Amz-Expires=9999")) == 403
    # a changed signature
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    sig = query["X-Amz-Signature"]
    query["X-Amz-Signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    forged = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    assert _status(forged) == 403
    # no signature at all
    assert _status(url.split("?")[0]) == 403


def test_expired_presigned_urls_are_refused(seaweed: SeaweedS3, s3_bucket: str) -> None:
    store = s3_store(seaweed, s3_bucket, presign_expiry_s=1)
    store.put_bytes("originals/aa/soon.jpg", b"soon")
    url = store.presigned_url("originals/aa/soon.jpg")
    signed_at = time.time()
    assert _status(url) == 200
    time.sleep(max(0.0, signed_at + 2.5 - time.time()))  # wait past the expiry (1 s + clock slack)
    assert _status(url) == 403


def test_local_store_does_not_presign(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/b", b"x")
    assert not isinstance(store, PresigningStore)
    assert presigned_url(store, "a/b") is None
