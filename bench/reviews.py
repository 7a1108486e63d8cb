"""Review benchmark: the reviewer's queue and a verdict, for a producer with many images.

A verdict recounts the producer's reviews, stores the Beta posterior and queues search outbox rows
for the producer's on-sale images (so the market's quality filter and sort follow); the next
search then reloads those images into the index. This measures, on the embedded SQLite:

- ``queue``: ``review_queue`` (20 items, requested first, then newest unreviewed) p50/p95;
- ``verdict``: ``accept`` p50/p95 (review row, operation log, reputation, outbox rows);
- ``sync``: the first market search after a verdict (the index applies the outbox) p50/p95, apart
  for verdicts that moved the score by a point or more (outbox rows for every on-sale image of
  the producer) and those that did not (no rows: the index keeps the score within a point).

Prints JSON lines. Usage: python bench/reviews.py [--images 10000] [--verdicts 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _line(name: str, values_ms: list[float], **extra: object) -> None:
    print(
        json.dumps(
            {
                "bench": "reviews",
                "step": name,
                "n": len(values_ms),
                "p50_ms": round(statistics.median(values_ms), 2),
                "p95_ms": round(_pct(values_ms, 0.95), 2),
                **extra,
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--verdicts", type=int, default=50)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-reviews-")

    from sqlalchemy import insert
    from sqlmodel import func, select

    from bench.seed import bench_user, image_rows
    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Image, ImageLabel, Label, SearchOutbox, utcnow
    from labelhub_app.services import reviews, search

    upgrade()
    with session_scope() as session:
        producer = bench_user(session, "producer")
        reviewer = bench_user(session, "reviewer")
        session.execute(insert(Image), image_rows(producer.id, args.images, utcnow()))
        dog = session.exec(select(Label.id).where(Label.name == "dog")).one()
        ids = session.exec(select(Image.id)).all()
        session.execute(
            insert(ImageLabel),
            [{"image_id": i, "label_id": dog, "created_at": utcnow()} for i in ids],
        )
        session.commit()
        search.rebuild_index(session)
        query = search.MarketQuery(sort="quality", per_page=24)

        queue_ms, verdict_ms = [], []
        sync_ms: dict[bool, list[float]] = {True: [], False: []}

        def outbox() -> int:
            return session.exec(select(func.count()).select_from(SearchOutbox)).one()

        for _ in range(args.verdicts):
            started = time.perf_counter()
            items = reviews.review_queue(session, reviewer=reviewer, limit=20)
            queue_ms.append((time.perf_counter() - started) * 1000)
            image = session.exec(select(Image).where(Image.public_id == items[0].image_id)).one()
            rows_before = outbox()
            started = time.perf_counter()
            reviews.accept(
                session, reviewer=reviewer, image_id=image.public_id, base_revision=image.revision
            )
            verdict_ms.append((time.perf_counter() - started) * 1000)
            moved = outbox() > rows_before
            started = time.perf_counter()
            search.search_market(session, query=query)
            sync_ms[moved].append((time.perf_counter() - started) * 1000)
    load = os.getloadavg()[0]
    _line("queue", queue_ms, images=args.images, load_1m=round(load, 2))
    _line("verdict", verdict_ms, images=args.images, reindexing_verdicts=len(sync_ms[True]))
    for moved, values in sync_ms.items():
        if values:
            _line(
                "sync_after_reindex" if moved else "sync_quiet",
                values,
                images=args.images,
                load_1m=round(os.getloadavg()[0], 2),
            )


if __name__ == "__main__":
    main()
