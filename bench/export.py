"""Benchmark: COCO and YOLO exports of a 10,000-image project with 100,000 boxes.

    .venv/bin/python bench/export.py [--images 10000] [--boxes-per-image 10] [--repeat 3]

Seeds a temporary data dir with bulk inserts (a producer, a consumer, one project with every
image bought, two tags and ``--boxes-per-image`` boxes per image; no image files: these formats
hold labels and boxes only), then times ``services.exports.export_project`` end to end (access
check, queries, writing every byte) for COCO and YOLO, best of ``--repeat``, and an incremental
COCO export after one image was edited. Prints JSON lines. Target: under 5 s each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABELS = ["dog", "cat", "car", "person", "bicycle", "traffic light", "bus", "tree", "bird", "sign"]


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "export", **fields}), flush=True)


def seed(count: int, per_image: int) -> tuple[int, int, str]:
    """Bulk-insert the project; returns (producer id, consumer id, project public id)."""
    from sqlalchemy import insert
    from sqlmodel import select

    from bench.seed import bench_user, image_rows
    from labelhub_app import db
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Box, Image, ImageLabel, LedgerTransaction, Purchase, utcnow
    from labelhub_app.services import market
    from labelhub_app.services.labels import resolve_labels

    upgrade()
    rng = random.Random(11)
    with db.session_scope() as session:
        producer = bench_user(session, "producer")
        consumer = bench_user(session, "consumer")
        project = market.create_project(session, actor=consumer, name="Bench export")
        label_ids = [
            lb.id for lb in resolve_labels(session, names=LABELS, actor=producer, create=True)
        ]
        txn = LedgerTransaction(kind="purchase", actor_id=consumer.id, memo="bench seed")
        session.add(txn)
        session.flush()
        now = utcnow()
        session.execute(
            insert(Image),
            image_rows(producer.id, count, now, revision=1, sales_count=1),
        )
        ids = list(session.exec(select(Image.id).order_by(Image.id)))
        session.execute(
            insert(Purchase),
            [
                {
                    "buyer_id": consumer.id,
                    "image_id": image_id,
                    "project_id": project.id,
                    "price_cents": 100,
                    "licence": "standard",
                    "ledger_txn_id": txn.id,
                    "public_id": f"10000000-0000-4000-8000-{image_id:012x}",
                    "created_at": now,
                }
                for image_id in ids
            ],
        )
        session.execute(
            insert(ImageLabel),
            [
                {
                    "image_id": image_id,
                    "label_id": label_ids[(image_id + k) % len(label_ids)],
                    "created_at": now,
                }
                for image_id in ids
                for k in (0, 3)
            ],
        )
        boxes = []
        for image_id in ids:
            for k in range(per_image):
                w, h = rng.uniform(5, 200), rng.uniform(5, 200)
                boxes.append(
                    {
                        "public_id": f"{image_id:08x}-{k:04x}",
                        "image_id": image_id,
                        "label_id": rng.choice(label_ids),
                        "x": round(rng.uniform(0, 640 - w), 1),
                        "y": round(rng.uniform(0, 480 - h), 1),
                        "w": round(w, 1),
                        "h": round(h, 1),
                        "author_id": producer.id,
                        "source": "human",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Box), boxes)
        session.commit()
        return int(producer.id or 0), int(consumer.id or 0), project.public_id


def timed_export(
    consumer_id: int, project_id: str, fmt: str, since: str | None = None
) -> tuple[float, int, str]:
    from labelhub_app import db
    from labelhub_app.models import User
    from labelhub_app.services.exports import export_project

    with db.session_scope() as session:
        consumer = session.get(User, consumer_id)
        assert consumer is not None
        started = time.perf_counter()
        stream = export_project(
            session,
            actor=consumer,
            project_id=project_id,
            fmt=fmt,
            since=since,
        )
        size = sum(len(chunk) for chunk in stream.chunks)
        return time.perf_counter() - started, size, stream.mark


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--boxes-per-image", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-export-")

    started = time.perf_counter()
    producer_id, consumer_id, project_id = seed(args.images, args.boxes_per_image)
    emit(
        step="seed",
        images=args.images,
        boxes=args.images * args.boxes_per_image,
        seconds=round(time.perf_counter() - started, 2),
    )

    mark = ""
    for fmt in ("coco", "yolo"):
        runs = [timed_export(consumer_id, project_id, fmt) for _ in range(args.repeat)]
        best = min(r[0] for r in runs)
        mark = runs[-1][2]
        emit(
            step="full",
            format=fmt,
            images=args.images,
            boxes=args.images * args.boxes_per_image,
            best_s=round(best, 2),
            runs_s=[round(r[0], 2) for r in runs],
            mb=round(runs[0][1] / 2**20, 1),
            target_s=5,
            cpus=os.cpu_count(),
        )

    from sqlmodel import select

    from labelhub_app import db
    from labelhub_app.models import Image, User
    from labelhub_app.services import annotations as ann

    with db.session_scope() as session:
        producer = session.get(User, producer_id)
        image = session.exec(select(Image).where(Image.owner_id == producer_id)).first()
        assert image is not None
        ann.save_annotations(
            session,
            actor=producer,
            image_id=image.public_id,
            base_revision=image.revision,
            edits=[
                ann.BoxEdit(
                    "create", {"id": "bench-edit", "label": "dog", "x": 1, "y": 1, "w": 20, "h": 20}
                )
            ],
        )
    seconds, size, _ = timed_export(consumer_id, project_id, "coco", since=mark)
    emit(
        step="incremental",
        format="coco",
        changed_images=1,
        seconds=round(seconds, 2),
        kb=round(size / 1024, 1),
    )


if __name__ == "__main__":
    main()
