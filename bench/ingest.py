"""Ingest benchmark: 640x480 JPEGs through the whole upload pipeline (check, clean, hash,
thumbnails, store, database rows, search outbox), as the upload page does it: one file at a time.

Prints JSON lines. Usage: python bench/ingest.py [--images 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="lh-bench-ingest-")
    os.environ["LABELHUB_DATA_DIR"] = tmp

    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import accounts, images
    from tests.images import make_jpeg

    upgrade()
    files = [
        images.UploadedFile(f"bench-{i}.jpg", make_jpeg(640, 480, seed=i))
        for i in range(args.images)
    ]
    with session_scope() as session:
        producer = accounts.sign_up(
            session, email="bench@example.com", password="benchmark-pw", roles=["producer"]
        )
        # warm up imports and caches on a file that is not counted
        images.ingest_images(
            session,
            actor=producer,
            price_cents=1,
            licence="standard",
            files=[images.UploadedFile("warm.jpg", make_jpeg(640, 480, seed=10**6))],
        )
        started = time.perf_counter()
        ok = 0
        for f in files:
            [r] = images.ingest_images(
                session,
                actor=producer,
                files=[f],
                labels=["dog", "street"],
                price_cents=199,
                licence="standard",
            )
            ok += r.ok
        elapsed = time.perf_counter() - started
    mb = sum(len(f.data) for f in files) / 1e6
    print(
        json.dumps(
            {
                "bench": "ingest",
                "images": args.images,
                "landed": ok,
                "seconds": round(elapsed, 2),
                "images_per_s": round(args.images / elapsed, 1),
                "ms_per_image": round(elapsed * 1000 / args.images, 2),
                "mb_in": round(mb, 1),
                "size": "640x480 JPEG",
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
