"""Benchmark: stream a 1,000-image project download to a file; print JSON lines.

    .venv/bin/python bench/download.py [--images 1000] [--keep]

A child process seeds a temporary data dir (a producer, a consumer, one project with every
image bought, 640x480 JPEGs from tests.images.make_jpeg, rows inserted directly and originals
put in the file store), so this process's peak RSS reflects the download alone. Then the zip is
streamed to a file twice: once timed, once under tracemalloc for the Python heap's peak.
Targets: under 5 s for 1,000 images, and memory that does not grow with the project.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.images when run as a script


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "download", **fields}), flush=True)


def seed(data_dir: Path, count: int) -> dict[str, Any]:
    """Fill ``data_dir`` with a consumer whose project holds ``count`` bought images."""
    os.environ["LABELHUB_DATA_DIR"] = str(data_dir)
    from bench.seed import bench_user
    from labelhub_app import db
    from labelhub_app.adapters.storage import get_store
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import (
        LICENCES,
        Image,
        ImageLabel,
        LedgerTransaction,
        ProjectItem,
        Purchase,
    )
    from labelhub_app.services import market
    from labelhub_app.services.images import original_key
    from labelhub_app.services.labels import resolve_labels
    from tests.images import make_jpeg

    upgrade()
    store = get_store()
    licences = list(LICENCES)
    started = time.perf_counter()
    total_bytes = 0
    with db.session_scope() as session:
        producer = bench_user(session, "producer")
        consumer = bench_user(session, "consumer")
        project = market.create_project(session, actor=consumer, name="Bench download")
        labels = resolve_labels(
            session,
            names=["dog", "cat", "car", "person", "bench label"],
            actor=producer,
            create=True,
        )
        txn = LedgerTransaction(kind="purchase", actor_id=consumer.id, memo="bench seed")
        session.add(txn)
        session.flush()
        for i in range(count):
            data = make_jpeg(640, 480, seed=i)
            total_bytes += len(data)
            sha = hashlib.sha256(data).hexdigest()
            key = original_key(sha, "JPEG")
            store.put_bytes(key, data, content_type="image/jpeg")
            image = Image(
                owner_id=producer.id,
                file_name=f"photo-{i % 900}.jpg",  # some names repeat
                upload_sha256=sha,
                object_key=key,
                phash=f"{i:016x}",
                width=640,
                height=480,
                format="JPEG",
                size_bytes=len(data),
                price_cents=10 + i % 50,
                licence=licences[i % len(licences)],
                sales_count=1,
            )
            session.add(image)
            session.flush()
            for label in (labels[i % len(labels)], labels[(i * 7 + 1) % len(labels)]):
                session.merge(ImageLabel(image_id=image.id, label_id=label.id))
            session.add(ProjectItem(project_id=project.id, image_id=image.id))
            session.add(
                Purchase(
                    buyer_id=consumer.id,
                    image_id=image.id,
                    project_id=project.id,
                    price_cents=image.price_cents,
                    licence=image.licence,
                    ledger_txn_id=txn.id,
                )
            )
        session.commit()
        return {
            "consumer_email": consumer.email,
            "project_id": project.public_id,
            "images": count,
            "originals_mb": round(total_bytes / 1e6, 1),
            "seed_s": round(time.perf_counter() - started, 2),
        }


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def stream(data_dir: Path, seeded: dict[str, Any]) -> None:
    os.environ["LABELHUB_DATA_DIR"] = str(data_dir)
    from sqlmodel import select

    from labelhub_app import db
    from labelhub_app.models import User
    from labelhub_app.services.exports import iter_project_zip

    out_path = data_dir / "download.zip"
    with db.session_scope() as session:
        consumer = session.exec(select(User).where(User.email == seeded["consumer_email"])).one()

        plan_peak = [0]

        def run() -> tuple[float, float, int, int, int]:
            started = time.perf_counter()
            chunks = iter_project_zip(session, actor=consumer, project_id=seeded["project_id"])
            planned = time.perf_counter()
            if tracemalloc.is_tracing():  # the plan's peak, then the stream's alone
                plan_peak[0] = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
            size = biggest = n = 0
            with out_path.open("wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    size += len(chunk)
                    biggest = max(biggest, len(chunk))
                    n += 1
            return planned - started, time.perf_counter() - started, size, biggest, n

        run()  # warm up: imports, SQLAlchemy's compiled-statement cache, page cache
        rss_before = maxrss_mb()
        plan_s, total_s, size, biggest, chunks = run()
        rss_after = maxrss_mb()
        emit(
            phase="stream",
            images=seeded["images"],
            seconds=round(total_s, 3),
            plan_seconds=round(plan_s, 3),
            zip_mb=round(size / 1e6, 1),
            mb_per_s=round(size / 1e6 / total_s, 1),
            chunks=chunks,
            largest_chunk_kib=round(biggest / 1024, 1),
            target_seconds=5.0,
        )

        tracemalloc.start()
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        emit(
            phase="memory",
            tracemalloc_plan_peak_mb=round((plan_peak[0] - baseline) / 1e6, 2),
            tracemalloc_stream_peak_mb=round((peak - baseline) / 1e6, 2),
            maxrss_before_mb=round(rss_before, 1),
            maxrss_after_mb=round(rss_after, 1),
            maxrss_growth_mb=round(rss_after - rss_before, 1),
            zip_mb=round(size / 1e6, 1),
        )

    with zipfile.ZipFile(out_path) as zf:
        names = zf.namelist()
        bad = zf.testzip()
    emit(
        phase="check",
        entries=len(names),
        images=sum(n.startswith("images/") for n in names),
        crc_ok=bad is None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--seed-into", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.seed_into:
        print(json.dumps(seed(args.seed_into, args.images)))
        return
    data_dir = Path(tempfile.mkdtemp(prefix="labelhub-bench-download-"))
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--seed-into", str(data_dir), "--images", str(args.images)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        seeded = json.loads(child.stdout.strip().splitlines()[-1])
        emit(phase="seed", **seeded)
        stream(data_dir, seeded)
    finally:
        if args.keep:
            emit(phase="kept", data_dir=str(data_dir))
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
