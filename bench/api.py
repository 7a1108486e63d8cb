"""Benchmark: a bounded load test of the REST API on loopback.

    .venv/bin/python bench/api.py [--images 5000] [--clients 8] [--requests 2000] [--seconds 60]

Seeds a fresh data dir (migrated; a producer, ``--images`` image rows with 1-3 tags each,
bulk-inserted; no files: neither endpoint reads image bytes), serves ``labelhub_app.api.app:api``
with uvicorn (one process) on 127.0.0.1 at a free port in a subprocess, then runs ``--clients``
concurrent asyncio + httpx clients, one endpoint type after the other, at most ``--requests``
requests per type and at most ``--seconds`` in all:

- search: ``GET /api/v1/search?labels=<one label>&sort=<a sort key>`` (anonymous);
- save: ``PUT /api/v1/images/{id}/annotations`` with ``If-Match``: each client on its own image
  with its own access token (the rate limit is per token), re-using the ETag each answer gives.

Prints one JSON line per endpoint: requests, requests/s, p50/p95 latency (ms), errors (any
answer other than 200, or a transport error). The clients share the machine with the server:
say which machine when quoting the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = [
    "dog", "cat", "car", "person", "bicycle", "traffic light", "bus", "tree", "street", "beach",
    "mountain", "bird", "boat", "night", "snow", "food", "flower", "house", "bridge", "sky",
]  # fmt: skip
SORTS = ["newest", "price_asc", "price_desc", "best_selling"]
PREFIX = "/api/v1"


def emit(**fields: Any) -> None:
    print(json.dumps({"bench": "api", **fields}), flush=True)


def seed(count: int, clients: int) -> dict[str, Any]:
    """A producer, ``count`` tagged images on sale and one access token per client."""
    from sqlalchemy import insert

    from bench.seed import bench_user, image_rows
    from labelhub_app import db
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Image, ImageLabel, utcnow
    from labelhub_app.services import tokens
    from labelhub_app.services.labels import resolve_labels

    upgrade()
    rng = random.Random(11)
    with db.session_scope() as session:
        producer = bench_user(session, "producer")
        label_ids = [
            lb.id for lb in resolve_labels(session, names=LABELS, actor=producer, create=True)
        ]
        session.commit()
        now = utcnow()
        rows = image_rows(producer.id, count, now)
        session.execute(insert(Image), rows)
        ids = {p: i for i, p in session.execute(Image.__table__.select().with_only_columns(
            Image.__table__.c.id, Image.__table__.c.public_id))}  # fmt: skip
        tags = [
            {
                "image_id": image_id,
                "label_id": label_id,
                "added_by_id": producer.id,
                "created_at": now,
            }
            for image_id in ids.values()
            for label_id in rng.sample(label_ids, rng.randint(1, 3))
        ]
        session.execute(insert(ImageLabel), tags)
        session.commit()
        made = [
            tokens.create_token(session, actor=producer, name=f"bench client {c}").token
            for c in range(clients)
        ]
        return {"tokens": made, "images": [rows[c]["public_id"] for c in range(clients)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.statuses: dict[int, int] = {}

    def record(self, started: float, status: int | None) -> None:
        self.latencies.append(time.perf_counter() - started)
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != 200:
            self.errors += 1


async def run_phase(name: str, clients: int, budget: int, deadline: float, worker: Any) -> None:
    stats = Stats()
    left = [budget]

    def take() -> bool:
        if left[0] <= 0 or time.perf_counter() >= deadline:
            return False
        left[0] -= 1
        return True

    started = time.perf_counter()
    await asyncio.gather(*(worker(c, take, stats) for c in range(clients)))
    seconds = time.perf_counter() - started
    emit(
        endpoint=name,
        clients=clients,
        requests=len(stats.latencies),
        seconds=round(seconds, 2),
        rps=round(len(stats.latencies) / seconds, 1) if seconds else 0,
        p50_ms=round(statistics.median(stats.latencies) * 1000, 1) if stats.latencies else 0,
        p95_ms=round(pct(stats.latencies, 0.95) * 1000, 1),
        errors=stats.errors,
        statuses={str(k): v for k, v in sorted(stats.statuses.items())},
        cpus=os.cpu_count(),
    )


async def load(base: str, seeded: dict[str, Any], args: argparse.Namespace) -> None:
    deadline_all = time.perf_counter() + args.seconds
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def search_worker(c: int, take: Any, stats: Stats) -> None:
        rng = random.Random(c)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            while take():
                params = {"labels": rng.choice(LABELS), "sort": rng.choice(SORTS), "limit": 24}
                t = time.perf_counter()
                try:
                    r = await http.get(f"{PREFIX}/search", params=params)
                    stats.record(t, r.status_code)
                except httpx.HTTPError:
                    stats.record(t, None)

    async def save_worker(c: int, take: Any, stats: Stats) -> None:
        rng = random.Random(100 + c)
        image = seeded["images"][c]
        headers = {"Authorization": f"Bearer {seeded['tokens'][c]}"}
        url = f"{PREFIX}/images/{image}/annotations"
        async with httpx.AsyncClient(
            base_url=base, limits=limits, timeout=30, headers=headers
        ) as http:
            etag = (await http.get(url)).headers.get("ETag", "")
            while take():
                body = {
                    "boxes": [
                        {
                            "label": rng.choice(LABELS),
                            "x": rng.uniform(0, 500),
                            "y": rng.uniform(0, 350),
                            "w": rng.uniform(5, 120),
                            "h": rng.uniform(5, 120),
                        }
                        for _ in range(rng.randint(1, 4))
                    ],
                    "tags": [rng.choice(LABELS)],
                }
                t = time.perf_counter()
                try:
                    r = await http.put(url, json=body, headers={"If-Match": etag})
                    stats.record(t, r.status_code)
                    if r.status_code == 200:
                        etag = r.headers["ETag"]
                    else:  # e.g. 412: read the current ETag again
                        etag = (await http.get(url)).headers.get("ETag", "")
                except httpx.HTTPError:
                    stats.record(t, None)

    phases = [("search", search_worker), ("put_annotations", save_worker)]
    for n, (name, worker) in enumerate(phases):
        # each phase gets an equal share of the time that is left
        share = (deadline_all - time.perf_counter()) / (len(phases) - n)
        await run_phase(name, args.clients, args.requests, time.perf_counter() + share, worker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint type")
    parser.add_argument("--seconds", type=float, default=60, help="for all endpoint types")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="lh-bench-api-")
    os.environ["LABELHUB_DATA_DIR"] = data_dir
    os.environ.pop("LABELHUB_DATABASE_URL", None)

    t = time.perf_counter()
    seeded = seed(args.images, args.clients)
    emit(step="seed", images=args.images, seconds=round(time.perf_counter() - t, 2))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "labelhub_app.api.app:api", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env={**os.environ, "LABELHUB_DATA_DIR": data_dir},
    )  # fmt: skip
    try:
        t = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"uvicorn exited with {server.returncode}")
            try:
                # the first search also builds the server's search index
                if (
                    httpx.get(
                        f"{base}{PREFIX}/search", params={"labels": "dog"}, timeout=30
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t > 60:
                raise SystemExit("the server did not answer within 60 s")
            time.sleep(0.2)
        emit(step="server_ready", port=port, seconds=round(time.perf_counter() - t, 2))
        asyncio.run(load(base, seeded, args))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
