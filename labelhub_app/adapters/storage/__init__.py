"""Object storage port: originals, thumbnails and exports by key.

``LABELHUB_STORAGE=local`` (the default) keeps files below the data folder; ``s3`` puts them in an
S3 bucket (``LABELHUB_S3_*`` settings) and lets the app redirect to presigned URLs.
"""

from __future__ import annotations

from functools import lru_cache

from labelhub_app.adapters.storage.base import ObjectStore, PresigningStore
from labelhub_app.config import Settings, get_settings


def make_store(settings: Settings) -> ObjectStore:
    """A new object store for ``settings`` (``get_store`` keeps one per process)."""
    if settings.storage_backend == "s3":
        from labelhub_app.adapters.storage.s3 import S3ObjectStore, make_client

        client = make_client(
            endpoint_url=settings.s3_endpoint_url,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
        )
        return S3ObjectStore(
            client,
            settings.s3_bucket,
            presign_expiry_s=settings.s3_presign_expiry_s,
            multipart_threshold=settings.s3_multipart_threshold_bytes,
            create_bucket=settings.s3_create_bucket,
        )
    from labelhub_app.adapters.storage.local import LocalObjectStore

    return LocalObjectStore(settings.resolved_storage_path)


@lru_cache(maxsize=1)
def get_store() -> ObjectStore:
    """The configured object store for this process."""
    return make_store(get_settings())


def presigned_url(
    store: ObjectStore,
    key: str,
    *,
    expires_s: int | None = None,
    download_name: str | None = None,
    content_type: str | None = None,
) -> str | None:
    """A short-lived direct GET URL for ``key`` when the store can sign one (S3), else None
    (the local store: the app serves the bytes itself). Check permissions before calling."""
    if not isinstance(store, PresigningStore):
        return None
    return store.presigned_url(
        key, expires_s=expires_s, download_name=download_name, content_type=content_type
    )


__all__ = ["ObjectStore", "PresigningStore", "get_store", "make_store", "presigned_url"]
