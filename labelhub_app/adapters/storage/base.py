"""The object store port. Keys are '/'-separated ASCII paths chosen by services (content addressed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol, runtime_checkable


class ObjectStore(Protocol):
    def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        """Store ``data`` under ``key``; writing the same key twice is harmless (idempotent)."""

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream; raises ``KeyError`` if the key does not exist."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def age_seconds(self, key: str) -> float:
        """Seconds since ``key`` was last written; raises ``KeyError`` if it does not exist."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, in no particular order."""


@runtime_checkable
class PresigningStore(Protocol):
    """A store that can hand out short-lived direct GET URLs (S3); the local store cannot."""

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int | None = None,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A URL that reads ``key`` for ``expires_s`` seconds; tampering with it voids it."""
