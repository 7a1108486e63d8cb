"""Object storage port: originals, thumbnails and exports by key."""

from __future__ import annotations

from functools import lru_cache

from labelhub_app.adapters.storage.base import ObjectStore
from labelhub_app.config import get_settings


@lru_cache(maxsize=1)
def get_store() -> ObjectStore:
    """The configured object store for this process."""
    settings = get_settings()
    from labelhub_app.adapters.storage.local import LocalObjectStore

    return LocalObjectStore(settings.resolved_storage_path)


__all__ = ["ObjectStore", "get_store"]
