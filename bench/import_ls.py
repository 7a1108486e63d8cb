"""Benchmark: import a Label Studio JSON export of 10,000 tasks onto a producer's images.

    .venv/bin/python bench/import_ls.py [--tasks 10000] [--boxes 5]

Seeds a temporary data dir directly (a producer and ``--tasks`` image rows, bulk-inserted; no
files are stored: an import never reads image bytes), writes a Label Studio export with
``--boxes`` rectangles and one choice per task (the way Label Studio writes it: percentages,
upload-prefixed file names), then times ``services.imports.import_annotations``: once on
images without labels (every image gets a revision), once again with the same file (nothing
changes: the matching alone). Prints JSON lines. Target: under 10 s for 10,000 tasks.
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

LABELS = ["dog", "cat", "car", "person", "bicycle", "traffic light", "bus", "tree"]


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "import_ls", **fields}), flush=True)


def seed(count: int) -> int:
    from sqlalchemy import insert

    from bench.seed import bench_user, image_rows
    from labelhub_app import db
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Image, utcnow

    upgrade()
    with db.session_scope() as session:
        producer = bench_user(session, "producer")
        now = utcnow()
        rows = image_rows(producer.id, count, now)
        session.execute(insert(Image), rows)
        session.commit()
        return int(producer.id or 0)


def label_studio_export(count: int, boxes: int) -> bytes:
    rng = random.Random(7)
    tasks = []
    for i in range(count):
        result: list[dict[str, Any]] = []
        for k in range(boxes):
            w, h = rng.uniform(2, 40), rng.uniform(2, 40)
            result.append(
                {
                    "id": f"r{i}-{k}",
                    "type": "rectanglelabels",
                    "from_name": "label",
                    "to_name": "image",
                    "original_width": 640,
                    "original_height": 480,
                    "image_rotation": 0,
                    "value": {
                        "x": rng.uniform(0, 100 - w),
                        "y": rng.uniform(0, 100 - h),
                        "width": w,
                        "height": h,
                        "rotation": 0,
                        "rectanglelabels": [rng.choice(LABELS)],
                    },
                }
            )
        result.append(
            {
                "id": f"c{i}",
                "type": "choices",
                "from_name": "choice",
                "to_name": "image",
                "value": {"choices": ["street"]},
            }
        )
        tasks.append(
            {
                "id": i + 1,
                "data": {"image": f"/data/upload/1/{rng.getrandbits(32):08x}-photo-{i:05d}.jpg"},
                "annotations": [
                    {"id": i + 1, "completed_by": 1, "was_cancelled": False, "result": result}
                ],
            }
        )
    return json.dumps(tasks).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--boxes", type=int, default=5)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-import-")

    from sqlmodel import func, select

    from labelhub_app import db
    from labelhub_app.models import AnnotationRevision, Box, Operation, User
    from labelhub_app.services.imports import import_annotations

    started = time.perf_counter()
    producer_id = seed(args.tasks)
    data = label_studio_export(args.tasks, args.boxes)
    emit(
        step="seed",
        tasks=args.tasks,
        boxes_per_task=args.boxes,
        json_mb=round(len(data) / 2**20, 1),
        seconds=round(time.perf_counter() - started, 2),
    )

    for run in ("first", "again"):
        with db.session_scope() as session:
            actor = session.get(User, producer_id)
            assert actor is not None
            t = time.perf_counter()
            report = import_annotations(
                session, actor=actor, fmt="labelstudio", files={"export.json": data}
            )
            seconds = time.perf_counter() - t
            counts = {
                "revisions": session.exec(
                    select(func.count()).select_from(AnnotationRevision)
                ).one(),
                "boxes_in_db": session.exec(select(func.count()).select_from(Box)).one(),
                "operations": session.exec(select(func.count()).select_from(Operation)).one(),
            }
        emit(
            step="import",
            run=run,
            tasks=args.tasks,
            seconds=round(seconds, 2),
            tasks_per_s=round(args.tasks / seconds),
            images_updated=report.images_updated,
            boxes=report.boxes,
            tags=report.tags,
            problems=len(report.problems),
            target_s=10,
            cpus=os.cpu_count(),
            **counts,
        )


if __name__ == "__main__":
    main()
