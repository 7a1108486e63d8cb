"""Bulk seeding shared by the benchmark scripts: image rows inserted directly, without files.

The rows are what the upload pipeline would write for 640x480 JPEGs; ids and hashes derive from
the row number, so a benchmark can address image ``i`` as ``image_public_id(i)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def image_public_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012x}"


def image_rows(owner_id: int, count: int, now: datetime, **extra: Any) -> list[dict[str, Any]]:
    """Row dicts for ``insert(Image)``: photo-00000.jpg ... with unique hashes and public ids."""
    return [
        {
            "owner_id": owner_id,
            "file_name": f"photo-{i:05d}.jpg",
            "upload_sha256": f"{i:064x}",
            "object_key": f"originals/{i:064x}.jpg",
            "phash": f"{i:016x}",
            "width": 640,
            "height": 480,
            "format": "JPEG",
            "size_bytes": 1000,
            "price_cents": 100,
            "licence": "standard",
            "public_id": image_public_id(i),
            "created_at": now,
            "updated_at": now,
            **extra,
        }
        for i in range(count)
    ]


def bench_user(session: Any, role: str) -> Any:
    """A producer or consumer account for a benchmark: <role>@bench.test, password bench-password."""
    from labelhub_app.services import accounts

    return accounts.sign_up(
        session,
        email=f"{role}@bench.test",
        password="bench-password",
        roles=[role],
        display_name=f"Bench {role.title()}",
    )
