"""Save benchmark: server-side latency of saving one box edit (the editor's save: revision check,
clip, apply, revision row, operation log, commit), p50/p95, and saves per second with 8 clients
saving concurrently (threads, each with its own session and image), on the embedded SQLite.

Prints JSON lines. Usage: python bench/save.py [--saves 500] [--clients 8] [--boxes 0]
(--boxes N gives each image N boxes first, to see the cost of a crowded image).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--boxes", type=int, default=0)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-save-")

    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import accounts, images
    from labelhub_app.services import annotations as ann
    from tests.images import make_jpeg

    upgrade()
    with session_scope() as session:
        producer = accounts.sign_up(
            session, email="bench@example.com", password="benchmark-pw", roles=["producer"]
        )
        ids = []
        for i in range(args.clients + 1):
            [r] = images.ingest_images(
                session,
                actor=producer,
                price_cents=1,
                licence="standard",
                labels=["dog"],
                files=[images.UploadedFile(f"b{i}.jpg", make_jpeg(640, 480, seed=i))],
            )
            ids.append(r.image_id)
            if args.boxes:
                seed = [
                    ann.BoxEdit(
                        "create",
                        {
                            "id": uuid.uuid4().hex,
                            "label": "dog",
                            "x": (k * 7) % 600,
                            "y": (k * 13) % 440,
                            "w": 30,
                            "h": 30,
                        },
                    )
                    for k in range(args.boxes)
                ]
                ann.save_annotations(
                    session, actor=producer, image_id=r.image_id, base_revision=1, edits=seed
                )
        producer_id = producer.id

    def one_client(image_id: str, n: int, out: list[float]) -> None:
        from labelhub_app.models import User

        with session_scope() as session:
            user = session.get(User, producer_id)
            revision = ann.load_annotations(session, actor=user, image_id=image_id).revision
            box_id = uuid.uuid4().hex
            for k in range(n):
                kind = "create" if k == 0 else "update"
                edit = ann.BoxEdit(
                    kind,
                    {"id": box_id, "label": "dog", "x": 10 + k % 50, "y": 20, "w": 40, "h": 30},
                )
                t = time.perf_counter()
                result = ann.save_annotations(
                    session,
                    actor=user,
                    image_id=image_id,
                    base_revision=revision,
                    edits=[edit],
                    save_key=uuid.uuid4().hex,
                )
                out.append((time.perf_counter() - t) * 1000)
                revision = result.revision

    single: list[float] = []
    one_client(ids[-1], args.saves, single)
    print(
        json.dumps(
            {
                "bench": "save",
                "clients": 1,
                "saves": len(single),
                "boxes_on_image": args.boxes,
                "p50_ms": round(statistics.median(single), 2),
                "p95_ms": round(_pct(single, 0.95), 2),
            }
        )
    )

    per = max(1, args.saves // args.clients)
    results: list[list[float]] = [[] for _ in range(args.clients)]
    threads = [
        threading.Thread(target=one_client, args=(ids[i], per, results[i]))
        for i in range(args.clients)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    merged = [v for r in results for v in r]
    print(
        json.dumps(
            {
                "bench": "save",
                "clients": args.clients,
                "saves": len(merged),
                "boxes_on_image": args.boxes,
                "saves_per_s": round(len(merged) / elapsed, 1),
                "p50_ms": round(statistics.median(merged), 2),
                "p95_ms": round(_pct(merged, 0.95), 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
