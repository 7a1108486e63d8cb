"""S3 object store (boto3, SigV4): any S3 server (AWS, MinIO, SeaweedFS, Ceph RGW, ...).

Objects are private: the bucket gets no public policy. The app hands out short-lived presigned GET
URLs (``presigned_url``) after its own permission check, so it does not proxy every byte. Large
objects go up in parts (multipart upload above ``multipart_threshold``); content-addressed keys
make writes idempotent, so a retried upload is harmless.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from labelhub_app.adapters.storage.local import _KEY

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (all but the last)
_MISSING = {"404", "NoSuchKey", "NotFound"}


def make_client(
    *,
    endpoint_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str,
    connect_timeout_s: float = 5.0,
    read_timeout_s: float = 60.0,
    max_pool_connections: int = 20,
) -> Any:
    """A boto3 S3 client with SigV4 and path-style addressing (works with any S3 server)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=max_pool_connections,
        ),
    )


class S3ObjectStore:
    """The ``ObjectStore`` port on one S3 bucket, with presigned GET URLs.

    ``public_prefixes``: keys under these prefixes (thumbnails) are stored with a public,
    immutable ``Cache-Control`` so browsers and CDNs may keep them; everything else is
    ``private``. Reading still needs a presigned URL either way: the bucket itself stays private.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        presign_expiry_s: int = 300,
        multipart_threshold: int = 16 * 1024 * 1024,
        multipart_chunk: int = 8 * 1024 * 1024,
        public_prefixes: tuple[str, ...] = ("thumbs/",),
        create_bucket: bool = False,
    ) -> None:
        if presign_expiry_s < 1:
            raise ValueError("presigned URLs need an expiry of at least one second")
        self.client = client
        self.bucket = bucket
        self.presign_expiry_s = presign_expiry_s
        self.multipart_threshold = max(multipart_threshold, MIN_PART_BYTES)
        self._transfer = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=max(multipart_chunk, MIN_PART_BYTES),
            use_threads=True,
            max_concurrency=4,
        )
        self.public_prefixes = public_prefixes
        if create_bucket:
            self.ensure_bucket()

    # ------------------------------------------------------------------------- helpers
    @staticmethod
    def _check(key: str) -> str:
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"invalid object key: {key!r}")
        return key

    def _cache_control(self, key: str) -> str:
        if key.startswith(self.public_prefixes):
            return "public, max-age=31536000, immutable"  # content-addressed: never changes
        return "private"

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (idempotent)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING | {"NoSuchBucket"}:
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def _head(self, key: str) -> dict[str, Any]:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._check(key)))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise KeyError(key) from exc
            raise

    # ------------------------------------------------------------------------- the port
    def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        self.put_fileobj(key, io.BytesIO(data), content_type=content_type)

    def put_fileobj(
        self, key: str, fileobj: BinaryIO, *, content_type: str = "application/octet-stream"
    ) -> None:
        """Stream ``fileobj`` up; above ``multipart_threshold`` bytes it goes in parts."""
        self.client.upload_fileobj(
            fileobj,
            self.bucket,
            self._check(key),
            ExtraArgs={"ContentType": content_type, "CacheControl": self._cache_control(key)},
            Config=self._transfer,
        )

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._check(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise KeyError(key) from exc
            raise
        body: BinaryIO = response["Body"]  # botocore StreamingBody: read(n), close(), with
        return body

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except KeyError:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def age_seconds(self, key: str) -> float:
        return time.time() - self._head(key)["LastModified"].timestamp()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._check(key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                yield item["Key"]

    # ------------------------------------------------------------------------- presigning
    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int | None = None,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A GET URL for ``key`` valid for ``expires_s`` seconds (default: the store's expiry).

        The signature covers the key and every response header override, so a changed URL is
        refused (403) as is an expired one. ``download_name`` makes it an attachment.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._check(key)}
        if download_name is not None:
            params["ResponseContentDisposition"] = (
                f"attachment; filename*=UTF-8''{quote(download_name)}"
            )
        if content_type is not None:
            params["ResponseContentType"] = content_type
        return str(
            self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_s or self.presign_expiry_s
            )
        )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
