"""Benchmark: a bounded, mixed load test on loopback against 1 and 2 app workers on
PostgreSQL + S3 (SeaweedFS) + Redis.

    .venv/bin/python bench/load.py [--workers 1,2] [--seconds 30] [--clients 8]
                                   [--images 2000] [--uploaded 40]

Starts the backends like the tests do (a throwaway PostgreSQL 15 cluster from tests/pg_cluster.py,
SeaweedFS and redis-server from tests/backends.py); when one cannot start it falls back (SQLite,
the local store, in-process rate limits) and says so in the ``backends`` line. Seeds a producer
with ``--uploaded`` real JPEGs (stored in the bucket, with thumbnails) and ``--images`` bulk rows
(search breadth), and per client a consumer with credits, a project and access tokens. Then, for
each worker count, serves ``labelhub_app.api.app:api`` (the REST API that Reflex mounts) with
uvicorn ``--workers N`` on one port and runs ``--clients`` asyncio + httpx clients for
``--seconds``, each request picked at random:

- 40 % search: ``GET /search?labels=<label>&sort=<key>`` (anonymous);
- 30 % image page: ``GET /images/{id}`` then its thumbnail (a 307 to a presigned S3 URL, fetched);
- 20 % annotation save: ``PUT /images/{id}/annotations`` with ``If-Match`` (the producer's token);
- 10 % buy: ``POST /projects/{id}/buy`` of one new image with an idempotency key.

Prints one JSON line per operation and one for the whole run per worker count: requests, rps,
p50/p95 ms, errors (anything but the expected status, or a transport error). Target: 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = ["dog", "cat", "car", "person", "bicycle", "tree", "street", "beach", "bird", "boat"]
SORTS = ["newest", "price_asc", "price_desc", "best_selling"]
PREFIX = "/api/v1"
MIX = [("search", 40), ("image_page", 30), ("save", 20), ("buy", 10)]
TOKENS_PER_CLIENT = 3  # the API limits requests per token; spread each client's over a few


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"bench": "load", **fields}) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------- backends
@contextlib.contextmanager
def backends(folder: Path, use: set[str]) -> Iterator[dict[str, str]]:
    """LABELHUB_* settings for what could be started; reports what it fell back to."""
    from tests.backends import BackendUnavailable, redis_server, seaweedfs

    env: dict[str, str] = {"LABELHUB_DATA_DIR": str(folder / "data")}
    used: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if "postgresql" in use:
            try:
                from tests.pg_cluster import PgCluster

                cluster = stack.enter_context(PgCluster.start())
                env["LABELHUB_DATABASE_URL"] = cluster.create_database("labelhub_load")
                used["database"] = "postgresql"
            except Exception as exc:  # fall back and say so
                used["database"] = f"sqlite (PostgreSQL unavailable: {exc})"[:200]
        else:
            used["database"] = "sqlite"
        if "s3" in use:
            try:
                s3 = stack.enter_context(seaweedfs(folder / "seaweedfs"))
                env.update(s3.env("labelhub-load"))
                used["storage"] = "s3 (seaweedfs)"
            except BackendUnavailable as exc:
                used["storage"] = f"local ({exc})"
        else:
            used["storage"] = "local"
        if "redis" in use:
            try:
                redis = stack.enter_context(redis_server(folder / "redis"))
                env["LABELHUB_REDIS_URL"] = redis.url
                used["redis"] = redis.url
            except BackendUnavailable as exc:
                used["redis"] = f"none ({exc})"
        else:
            used["redis"] = "none"
        emit(step="backends", **used)
        yield env


# ------------------------------------------------------------------------------- data
def seed(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import insert

    from bench.seed import image_rows
    from labelhub_app import db
    from labelhub_app.adapters.storage import get_store
    from labelhub_app.config import reset_settings
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Image, ImageLabel, SearchOutbox, utcnow
    from labelhub_app.services import accounts, images, ledger, market, tokens
    from labelhub_app.services.labels import resolve_labels
    from tests.images import make_jpeg

    os.environ.update(env)
    reset_settings()
    get_store.cache_clear()
    db.dispose_engines()
    upgrade()
    rng = random.Random(5)
    with db.session_scope() as session:

        def user(email: str, role: str) -> Any:
            return accounts.sign_up(
                session, email=email, password="bench-password", roles=[role], display_name=email
            )

        producer = user("producer@load.test", "producer")
        label_ids = [
            lb.id for lb in resolve_labels(session, names=LABELS, actor=producer, create=True)
        ]
        session.commit()
        uploaded = []
        for i in range(args.uploaded):
            [result] = images.ingest_images(
                session,
                actor=producer,
                files=[images.UploadedFile(f"up-{i}.jpg", make_jpeg(640, 480, seed=i + 1))],
                labels=tuple(rng.sample(LABELS, 2)),
                price_cents=100,
                licence="standard",
            )
            assert result.ok, result.message
            uploaded.append(images.get_image(session, result.image_id).public_id)  # type: ignore[arg-type]
        now = utcnow()
        rows = image_rows(producer.id, args.images, now)
        session.execute(insert(Image), rows)
        by_public = dict(
            session.execute(
                Image.__table__.select().with_only_columns(
                    Image.__table__.c.public_id, Image.__table__.c.id
                )
            ).all()
        )
        bulk_ids = [by_public[r["public_id"]] for r in rows]
        session.execute(
            insert(ImageLabel),
            [
                {"image_id": i, "label_id": lb, "added_by_id": producer.id, "created_at": now}
                for i in bulk_ids
                for lb in rng.sample(label_ids, rng.randint(1, 3))
            ],
        )
        session.execute(
            insert(SearchOutbox), [{"image_id": i, "created_at": now} for i in bulk_ids]
        )
        session.commit()
        producer_tokens = [
            tokens.create_token(session, actor=producer, name=f"load producer {n}").token
            for n in range(args.clients * TOKENS_PER_CLIENT)
        ]
        clients = []
        to_buy = [r["public_id"] for r in rows]
        rng.shuffle(to_buy)
        share = len(to_buy) // args.clients
        for c in range(args.clients):
            buyer = user(f"buyer{c}@load.test", "consumer")
            for n in range(5):
                ledger.top_up(session, user=buyer, amount_cents=1_000_00, idempotency_key=f"l{n}")
            project = market.create_project(session, actor=buyer, name=f"Load {c}")
            clients.append(
                {
                    "tokens": [
                        tokens.create_token(session, actor=buyer, name=f"load {c} {n}").token
                        for n in range(TOKENS_PER_CLIENT)
                    ],
                    "producer_tokens": producer_tokens[
                        c * TOKENS_PER_CLIENT : (c + 1) * TOKENS_PER_CLIENT
                    ],
                    "project": project.public_id,
                    "to_buy": to_buy[c * share : (c + 1) * share],
                    "save_image": uploaded[c % len(uploaded)],
                }
            )
    return {"uploaded": uploaded, "clients": clients}


# ------------------------------------------------------------------------------- load
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
        self.errors: dict[str, int] = {name: 0 for name, _ in MIX}
        self.samples: list[str] = []

    def record(self, op: str, started: float, ok: bool, what: str = "") -> None:
        self.latencies[op].append(time.perf_counter() - started)
        if not ok:
            self.errors[op] += 1
            if len(self.samples) < 5:
                self.samples.append(f"{op}: {what}"[:300])


async def client_loop(
    c: int, base: str, seeded: dict[str, Any], stats: Stats, deadline: float, run: int
) -> None:
    rng = random.Random(run * 1000 + c)
    me = seeded["clients"][c]
    ops = [name for name, _ in MIX]
    weights = [w for _, w in MIX]
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        save_url = f"{PREFIX}/images/{me['save_image']}/annotations"
        producer = {"Authorization": f"Bearer {me['producer_tokens'][0]}"}
        etag = (await http.get(save_url, headers=producer)).headers.get("ETag", "")
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            op = rng.choices(ops, weights)[0]
            buyer = {"Authorization": f"Bearer {me['tokens'][n % TOKENS_PER_CLIENT]}"}
            producer = {"Authorization": f"Bearer {me['producer_tokens'][n % TOKENS_PER_CLIENT]}"}
            t = time.perf_counter()
            try:
                if op == "search":
                    params = {"labels": rng.choice(LABELS), "sort": rng.choice(SORTS), "limit": 24}
                    r = await http.get(f"{PREFIX}/search", params=params)
                    stats.record(op, t, r.status_code == 200, r.text)
                elif op == "image_page":
                    image = rng.choice(seeded["uploaded"])
                    r = await http.get(f"{PREFIX}/images/{image}", headers=buyer)
                    thumb = await http.get(f"{PREFIX}/images/{image}/thumb/256")
                    ok = r.status_code == 200 and thumb.status_code in (200, 307)
                    if ok and thumb.status_code == 307:  # S3: the browser fetches the object
                        data = await http.get(thumb.headers["location"])
                        ok = data.status_code == 200 and data.content[:2] == b"\xff\xd8"
                    stats.record(op, t, ok, f"{r.status_code} {thumb.status_code}")
                elif op == "save":
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
                    r = await http.put(save_url, json=body, headers={**producer, "If-Match": etag})
                    stats.record(op, t, r.status_code == 200, f"{r.status_code} {r.text}")
                    etag = r.headers.get("ETag", etag)
                    if r.status_code != 200:
                        etag = (await http.get(save_url, headers=producer)).headers.get("ETag", "")
                else:
                    if not me["to_buy"]:
                        continue
                    image = me["to_buy"].pop()
                    r = await http.post(
                        f"{PREFIX}/projects/{me['project']}/buy",
                        json={"image_ids": [image]},
                        headers={**buyer, "Idempotency-Key": f"buy-{image}"},
                    )
                    stats.record(op, t, r.status_code == 200, f"{r.status_code} {r.text}")
            except httpx.HTTPError as exc:
                stats.record(op, t, False, repr(exc))


def serve(env: dict[str, str], workers: int, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "labelhub_app.api.app:api", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
    )  # fmt: skip


def wait_ready(base: str, server: subprocess.Popen[bytes], workers: int) -> None:
    """Until the API answers; then warm every worker's search index (each builds its own)."""
    started = time.perf_counter()
    while True:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}{PREFIX}/health", timeout=5).status_code == 200:
                break
        if time.perf_counter() - started > 120:
            raise SystemExit("the API did not answer within 120 s")
        time.sleep(0.2)
    for _ in range(8 * workers):  # new connections spread over the workers
        httpx.get(f"{base}{PREFIX}/search", params={"labels": "dog"}, timeout=60)


async def run_load(base: str, seeded: dict[str, Any], args: argparse.Namespace, run: int) -> Stats:
    stats = Stats()
    deadline = time.perf_counter() + args.seconds
    await asyncio.gather(
        *(client_loop(c, base, seeded, stats, deadline, run) for c in range(args.clients))
    )
    return stats


def report(stats: Stats, workers: int, seconds: float, args: argparse.Namespace) -> None:
    everything: list[float] = []
    for op, latencies in stats.latencies.items():
        everything += latencies
        emit(
            server=args.server,
            workers=workers,
            op=op,
            requests=len(latencies),
            rps=round(len(latencies) / seconds, 1),
            p50_ms=round(statistics.median(latencies) * 1000, 1) if latencies else 0,
            p95_ms=round(pct(latencies, 0.95) * 1000, 1),
            errors=stats.errors[op],
        )
    emit(
        server=args.server,
        workers=workers,
        op="all",
        clients=args.clients,
        seconds=round(seconds, 1),
        requests=len(everything),
        rps=round(len(everything) / seconds, 1),
        p50_ms=round(statistics.median(everything) * 1000, 1) if everything else 0,
        p95_ms=round(pct(everything, 0.95) * 1000, 1),
        errors=sum(stats.errors.values()),
        error_samples=stats.samples,
        cpus=os.cpu_count(),
    )


def run_reflex(
    env: dict[str, str],
    workers: int,
    seeded: dict[str, Any],
    args: argparse.Namespace,
    run: int,
    data_dir: Path,
) -> None:
    """The whole app as the browser tests run it: one port, ``workers`` granian workers."""
    from tests.browser.server import running_app

    extra = {**env, "GRANIAN_WORKERS": str(workers)}
    if "LABELHUB_REDIS_URL" in env:
        extra["REFLEX_REDIS_URL"] = env["LABELHUB_REDIS_URL"]
    elif workers > 1:
        emit(step="note", message="no Redis: Reflex runs one worker whatever GRANIAN_WORKERS says")
    t = time.perf_counter()
    with running_app(data_dir, extra_env=extra) as app:
        emit(step="app_ready", workers=workers, seconds=round(time.perf_counter() - t, 1))
        base = f"http://127.0.0.1:{app.port}"
        for _ in range(8 * workers):  # warm each worker's search index
            httpx.get(f"{base}{PREFIX}/search", params={"labels": "dog"}, timeout=60)
        started = time.perf_counter()
        stats = asyncio.run(run_load(base, seeded, args, run))
        report(stats, workers, time.perf_counter() - started, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--seconds", type=float, default=30, help="per worker count")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--images", type=int, default=2000, help="bulk rows (search breadth)")
    parser.add_argument("--uploaded", type=int, default=40, help="real JPEGs in the store")
    parser.add_argument(
        "--backends", default="postgresql,s3,redis", help="any of postgresql,s3,redis"
    )
    parser.add_argument(
        "--server",
        choices=["uvicorn", "reflex"],
        default="uvicorn",
        help="uvicorn: the REST API app alone, --workers N; reflex: the whole production app "
        "as the browser tests start it (reflex run --env prod, GRANIAN_WORKERS=N; builds first)",
    )
    args = parser.parse_args()
    from tests.backends import free_port

    with tempfile.TemporaryDirectory(prefix="lh-bench-load-") as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        with backends(folder, set(args.backends.split(","))) as env:
            t = time.perf_counter()
            seeded = seed(env, args)
            emit(step="seed", images=args.images, uploaded=args.uploaded,
                 seconds=round(time.perf_counter() - t, 1))  # fmt: skip
            for run, workers in enumerate(int(w) for w in args.workers.split(",")):
                if args.server == "reflex":
                    run_reflex(env, workers, seeded, args, run, folder / "data")
                    continue
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                server = serve(env, workers, port)
                try:
                    wait_ready(base, server, workers)
                    started = time.perf_counter()
                    stats = asyncio.run(run_load(base, seeded, args, run))
                    report(stats, workers, time.perf_counter() - started, args)
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(server.pid, 15)
                    try:
                        server.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        os.killpg(server.pid, 9)
                        server.wait(timeout=5)


if __name__ == "__main__":
    main()
