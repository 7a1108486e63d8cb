"""Market search benchmark: prints JSON lines (one per step and query type).

Seeds a SQLite database under bench/out/ with the data distribution of docs/search-notes.md
(500 labels, Zipf s=1.12 so the top label is on ~50% of images, a 4 -> 20 -> 160 label tree,
log-uniform prices, skewed sales, created_at uncorrelated with id), builds the index through
``rebuild_index`` and times the whole ``search_market`` call (sync + index query + page rows +
facet names) per query type, plus the index query alone for comparison.

    .venv/bin/python bench/search.py --sizes 100000 1000000
    .venv/bin/python bench/search.py --sizes 100000 --reuse   # keep an already seeded DB
    .venv/bin/python bench/search.py --sizes 100000 --database pg   # same data and queries, with
        # the database on a throwaway PostgreSQL cluster (tests/pg_cluster.py); or give an empty
        # PostgreSQL database of your own: --database-url postgresql://user:pw@host/db

With PostgreSQL the seeded SQLite file is copied into the PostgreSQL database (COPY) and
everything after that (index build, queries, sync) runs against PostgreSQL.

Timings are wall-clock on whatever machine runs it: say which when quoting them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labelhub_app import db  # noqa: E402
from labelhub_app.adapters.search.base import IndexQuery  # noqa: E402
from labelhub_app.migrations import upgrade  # noqa: E402
from labelhub_app.services import search  # noqa: E402
from labelhub_app.services.search import MarketQuery, search_market  # noqa: E402

NUM_LABELS = 500
ZIPF_S = 1.12
MAX_PRICE = 10_000
PER_PAGE = 20
PRODUCERS = 200
LABEL_PREFIX = "bench l"
EPOCH_2026_11 = np.datetime64("2026-11-01T00:00:00", "us")
THREE_YEARS_US = 3 * 365 * 86_400 * 1_000_000


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ------------------------------------------------------------------------------- seeding
def _times(rng: np.random.Generator, n: int) -> list[str]:
    offsets = rng.integers(0, THREE_YEARS_US, size=n)
    stamps = EPOCH_2026_11 - offsets.astype("timedelta64[us]")
    return [s.replace("T", " ") for s in np.datetime_as_string(stamps, unit="us").tolist()]


def seed(path: Path, n: int, seed_value: int) -> dict[str, Any]:
    """A fresh migrated database with ``n`` images; returns what the query generator needs."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    db.dispose_engines()
    rng = np.random.default_rng(seed_value)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute("PRAGMA foreign_keys=OFF")
    now = "2026-11-01 00:00:00.000000"

    first_user = (con.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0]) + 1
    con.executemany(
        "INSERT INTO users (id, public_id, email, password_hash, display_name, about, pseudonym,"
        " is_producer, is_consumer, is_reviewer, is_admin, created_at)"
        " VALUES (?, ?, ?, 'x', ?, '', ?, 1, 0, 0, 0, ?)",
        (
            (
                uid,
                f"00000000-0000-4000-8000-{uid:012x}",
                f"p{uid}@bench",
                f"P {uid}",
                f"bench-producer-{uid}",
                now,
            )
            for uid in range(first_user, first_user + PRODUCERS)
        ),
    )

    # labels: rank r (0 = most frequent) gets id first_label + r; a tree over random ranks
    first_label = (con.execute("SELECT coalesce(max(id), 0) FROM labels").fetchone()[0]) + 1
    ranks = list(range(NUM_LABELS))
    tree_rng = random.Random(seed_value)
    tree_rng.shuffle(ranks)
    roots, mids, leaves = ranks[:4], ranks[4:24], ranks[24:184]
    parent: dict[int, int | None] = dict.fromkeys(range(NUM_LABELS))
    for i, mid in enumerate(mids):
        parent[mid] = roots[i % 4]
    for i, leaf in enumerate(leaves):
        parent[leaf] = mids[i % 20]
    order = roots + mids + leaves + ranks[184:]  # parents are inserted before children
    con.executemany(
        "INSERT INTO labels (id, name, parent_id, created_at) VALUES (?, ?, ?, ?)",
        (
            (
                first_label + r,
                f"{LABEL_PREFIX}{r:03d}",
                None if parent[r] is None else first_label + parent[r],  # type: ignore[operator]
                now,
            )
            for r in order
        ),
    )

    t = time.perf_counter()
    ids = np.arange(1, n + 1, dtype=np.int64)
    prices = np.floor(np.exp(rng.uniform(0, np.log(MAX_PRICE + 1), size=n))).astype(np.int64) - 1
    prices = np.clip(prices, 0, MAX_PRICE)
    sales = np.floor(501 * rng.random(n) ** 4).astype(np.int64)
    owners = rng.integers(first_user, first_user + PRODUCERS, size=n)
    withdrawn = rng.random(n) < 0.02
    created = _times(rng, n)
    phash = rng.integers(0, 2**63 - 1, size=n)

    def image_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            image_id = int(ids[i])
            yield (
                image_id,
                f"00000000-0000-4000-9000-{image_id:012x}",
                int(owners[i]),
                f"photo-{image_id}.jpg",
                f"{image_id:064x}",
                f"originals/{image_id:064x}.jpg",
                f"{int(phash[i]):016x}",
                int(prices[i]),
                "withdrawn" if withdrawn[i] else "on_sale",
                int(sales[i]),
                created[i],
            )

    con.executemany(
        "INSERT INTO images (id, public_id, owner_id, file_name, upload_sha256, object_key, phash,"
        " width, height, format, size_bytes, price_cents, licence, status, sales_count,"
        " income_cents, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 640, 480, 'JPEG', 100000, ?, 'standard', ?, ?, 0, ?, ?11)",
        image_rows(),
    )

    # 1-6 labels an image, Zipf over ranks, duplicates dropped (about 3.2 on average)
    weights = 1.0 / np.arange(1, NUM_LABELS + 1) ** ZIPF_S
    per_image = rng.integers(1, 7, size=n)
    pair_images = np.repeat(ids, per_image)
    pair_ranks = rng.choice(NUM_LABELS, size=len(pair_images), p=weights / weights.sum())
    keys = np.unique(pair_images * 1024 + pair_ranks)
    pair_images, pair_ranks = keys // 1024, keys % 1024
    label_ids = pair_ranks + first_label
    con.executemany(
        "INSERT INTO image_labels (image_id, label_id, created_at) VALUES (?, ?, ?)",
        zip(pair_images.tolist(), label_ids.tolist(), [now] * len(keys), strict=True),
    )
    con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    con.close()

    on_sale = ~withdrawn
    return {
        "rows_seconds": round(time.perf_counter() - t, 2),
        "pairs": len(keys),
        "on_sale": int(on_sale.sum()),
    }


def describe(path: Path) -> dict[str, Any]:
    """Label frequencies and the tree, read back from the DB (works for a reused DB too)."""
    con = sqlite3.connect(path)
    on_sale = con.execute("SELECT count(*) FROM images WHERE status = 'on_sale'").fetchone()[0]
    names = dict(
        con.execute("SELECT id, name FROM labels WHERE name LIKE ?", (LABEL_PREFIX + "%",))
    )
    parents = dict(con.execute("SELECT id, parent_id FROM labels"))
    counts = dict(
        con.execute(
            "SELECT label_id, count(*) FROM image_labels JOIN images ON images.id = image_id"
            " WHERE status = 'on_sale' GROUP BY label_id"
        )
    )
    prices = np.array([p for (p,) in con.execute("SELECT price_cents FROM images LIMIT 200000")])
    con.close()
    children: dict[int, list[int]] = {}
    for label_id, parent_id in parents.items():
        if parent_id is not None:
            children.setdefault(parent_id, []).append(label_id)
    return {
        "on_sale": on_sale,
        "names": names,
        "children": children,
        "counts": counts,
        "prices": prices,
    }


# ------------------------------------------------------------------------------- queries
def query_makers(info: dict[str, Any]) -> dict[str, Callable[[random.Random], MarketQuery]]:
    n = info["on_sale"]
    names: dict[int, str] = info["names"]
    counts: dict[int, int] = info["counts"]
    children: dict[int, list[int]] = info["children"]
    by_freq = sorted(names, key=lambda i: -counts.get(i, 0))
    leaves = [i for i in names if i not in children]
    rare = [i for i in leaves if 0.0005 * n <= counts.get(i, 0) <= 0.005 * n] or by_freq[-50:]
    rare_f = [i for i in leaves if 0.002 * n <= counts.get(i, 0) <= 0.005 * n] or rare
    roots = [i for i in names if i in children and all(i not in c for c in children.values())]
    top_root = max(
        roots, key=lambda r: counts.get(r, 0) + sum(counts.get(c, 0) for c in children[r])
    )
    common = [names[by_freq[0]], names[top_root]]
    prices = info["prices"]

    def price_range(rng: random.Random) -> tuple[int, int]:
        lo, hi = sorted(int(prices[rng.randrange(len(prices))]) for _ in range(2))
        return lo, hi

    def a(rng: random.Random) -> MarketQuery:
        return MarketQuery(labels=(names[rng.choice(rare)],), per_page=PER_PAGE)

    def b(rng: random.Random) -> MarketQuery:
        return MarketQuery(labels=(rng.choice(common),), per_page=PER_PAGE)

    def c(rng: random.Random) -> MarketQuery:
        pair = rng.sample(by_freq[:40], 2)
        return MarketQuery(labels=tuple(names[i] for i in pair), per_page=PER_PAGE)

    def d(rng: random.Random) -> MarketQuery:
        three = rng.sample(by_freq[:100], 3)
        return MarketQuery(labels=tuple(names[i] for i in three), mode="any", per_page=PER_PAGE)

    def e(rng: random.Random) -> MarketQuery:
        lo, hi = price_range(rng)
        sort = rng.choice(["price_asc", "price_desc"])
        return MarketQuery(
            labels=(rng.choice(common),),
            min_price=lo,
            max_price=hi,
            sort=sort,
            per_page=PER_PAGE,  # type: ignore[arg-type]
        )

    def f(rng: random.Random) -> MarketQuery:
        return MarketQuery(
            labels=(names[rng.choice(rare_f)],), sort="best_selling", page=10, per_page=PER_PAGE
        )

    def g(rng: random.Random) -> MarketQuery:
        lo, hi = price_range(rng)
        return MarketQuery(min_price=lo, max_price=hi, page=rng.randint(1, 50), per_page=PER_PAGE)

    return {
        "a_rare_label": a,
        "b_common_label": b,
        "c_two_label_and": c,
        "d_three_label_or": d,
        "e_common_price_sorted": e,
        "f_rare_best_selling_p10": f,
        "g_price_only_newest_p1_50": g,
    }


def index_query(session: Any, query: MarketQuery) -> IndexQuery:
    names = [search.normalise_label(label) for label in query.labels]
    groups, _ = search._expand_labels(session, names)
    return IndexQuery(
        label_groups=tuple(groups),
        mode=query.mode,
        min_price=query.min_price,
        max_price=query.max_price,
        sort=query.sort,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
        facet_limit=search.FACET_LIMIT,
    )


def pct(values: list[float]) -> tuple[float, float]:
    arr = np.array(values) * 1000
    return round(float(np.percentile(arr, 50)), 2), round(float(np.percentile(arr, 95)), 2)


def copy_to_postgresql(sqlite_path: Path, pg_url: str) -> dict[str, Any]:
    """Migrate the (empty) PostgreSQL database at ``pg_url`` and COPY the seeded rows into it."""
    import psycopg

    upgrade(pg_url)
    db.dispose_engines()
    t = time.perf_counter()
    dsn = db.normalize_url(pg_url).set(drivername="postgresql").render_as_string(False)
    src = sqlite3.connect(sqlite_path)
    rows_copied: dict[str, int] = {}
    with psycopg.connect(dsn) as pg:
        pg.execute("SET TIME ZONE 'UTC'")
        for table in ("users", "labels", "images", "image_labels"):
            pg_cols = [
                r[0]
                for r in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                    " ORDER BY ordinal_position",
                    (table,),
                )
            ]
            sq_cols = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
            cols = [c for c in pg_cols if c in sq_cols]
            where = ""
            if "id" in cols:  # rows the migrations made (the starter taxonomy) are there already
                start = pg.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # type: ignore[index]
                where = f" WHERE id > {int(start)}"
            col_list = ", ".join(cols)
            count = 0
            with pg.cursor().copy(f"COPY {table} ({col_list}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {col_list} FROM {table}{where} ORDER BY rowid"):
                    copy.write_row(row)
                    count += 1
            rows_copied[table] = count
            if "id" in cols:
                pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    src.close()
    return {"seconds": round(time.perf_counter() - t, 2), "rows": rows_copied}


def _pg_database_for(n: int, args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    return args.cluster.create_database(f"search_{n}")


def run_size(n: int, args: argparse.Namespace) -> None:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"search-{n}.db"
    if args.reuse and path.exists():
        emit(n=n, step="seed", reused=str(path))
    else:
        # in a child process, so that its memory does not blur the index's RSS figures below
        t = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed-only",
                str(n),
                "--seed",
                str(args.seed),
                "--out-dir",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        seeded = json.loads(child.stdout.strip().splitlines()[-1])
        emit(n=n, step="seed", seconds=round(time.perf_counter() - t, 2), **seeded)
    info = describe(path)
    url = f"sqlite:///{path}"
    if args.database == "pg":
        url = _pg_database_for(n, args)
        copied = copy_to_postgresql(path, url)
        emit(
            n=n,
            step="copy_to_postgresql",
            database=db.normalize_url(url).render_as_string(True),
            **copied,
        )

    search.reset_index()
    db.dispose_engines()
    gc.collect()
    with db.session_scope(url) as session:
        before = rss_mb()
        t = time.perf_counter()
        images = search.rebuild_index(session)
        build_s = time.perf_counter() - t
        gc.collect()
        emit(
            n=n,
            step="build",
            images=images,
            seconds=round(build_s, 2),
            rss_mb=rss_mb(),
            rss_growth_mb=round(rss_mb() - before, 1),
            index_mb=round(
                getattr(search.get_index(session), "memory_bytes", lambda: 0)() / 2**20, 1
            ),
        )

        makers = query_makers(info)
        rng = random.Random(args.seed)
        index = search.get_index(session)
        for _ in range(20):  # warm up caches and code paths
            search_market(session, query=makers["b_common_label"](rng))
        for name, make in makers.items():
            service_times: list[float] = []
            index_times: list[float] = []
            totals: list[int] = []
            for _ in range(args.queries):
                query = make(rng)
                t = time.perf_counter()
                page = search_market(session, query=query)
                service_times.append(time.perf_counter() - t)
                totals.append(page.total)
                iq = index_query(session, query)
                t = time.perf_counter()
                index.search(iq)
                index_times.append(time.perf_counter() - t)
            p50, p95 = pct(service_times)
            i50, i95 = pct(index_times)
            emit(
                n=n,
                query=name,
                count=args.queries,
                p50_ms=p50,
                p95_ms=p95,
                index_p50_ms=i50,
                index_p95_ms=i95,
                median_total=int(np.median(totals)),
            )

        # one change made elsewhere (price + outbox row), then the next search applies it
        ids = [int(i) for i in np.random.default_rng(args.seed).integers(1, n, size=100)]
        con = _writer(path, url)
        sync_times = []
        for image_id in ids:
            con.execute(
                _sql(url, "UPDATE images SET price_cents = price_cents + 1 WHERE id = ?"),
                (image_id,),
            )
            con.execute(
                _sql(url, "INSERT INTO search_outbox (image_id, created_at) VALUES (?, ?)"),
                (
                    image_id,
                    "2026-11-25 00:00:00.000000" + ("" if url.startswith("sqlite") else "+00"),
                ),
            )
            con.commit()
            t = time.perf_counter()
            search.sync_index(session)
            sync_times.append(time.perf_counter() - t)
        con.close()
        p50, _ = pct(sync_times)
        emit(n=n, step="sync_one_change", p50_ms=p50, max_ms=round(max(sync_times) * 1000, 2))
        t = time.perf_counter()
        for _ in range(200):
            search.sync_index(session)
        emit(n=n, step="sync_nothing_new", mean_ms=round((time.perf_counter() - t) * 5, 3))
    search.reset_index()
    db.dispose_engines()


def _writer(path: Path, url: str) -> Any:
    """A plain DB-API connection to the benchmark's database (changes "made elsewhere")."""
    if url.startswith("sqlite"):
        return sqlite3.connect(path)
    import psycopg

    return psycopg.connect(
        db.normalize_url(url).set(drivername="postgresql").render_as_string(False)
    )


def _sql(url: str, statement: str) -> str:
    return statement if url.startswith("sqlite") else statement.replace("?", "%s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200, help="queries per type")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--reuse", action="store_true", help="reuse a seeded DB of that size")
    parser.add_argument("--seed-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--database",
        choices=["sqlite", "pg"],
        default="sqlite",
        help="where the database is: the seeded SQLite file, or PostgreSQL (the rows copied)",
    )
    parser.add_argument(
        "--database-url",
        help="an EMPTY PostgreSQL database to use (implies --database pg; one size per run); "
        "default with --database pg: a throwaway cluster",
    )
    args = parser.parse_args()
    if args.database_url:
        args.database = "pg"
    if args.seed_only:
        path = Path(args.out_dir) / f"search-{args.seed_only}.db"
        print(json.dumps(seed(path, args.seed_only, args.seed)))
        return
    emit(
        step="env",
        python=sys.version.split()[0],
        cpus=os.cpu_count(),
        numpy=np.__version__,
        sqlite=sqlite3.sqlite_version,
    )
    args.cluster = None
    if args.database == "pg" and not args.database_url:
        sys.path.insert(0, str(ROOT))
        from tests.pg_cluster import PgCluster

        t = time.perf_counter()
        import tempfile

        # on disk, not /dev/shm: a million images make a database of over a gigabyte
        args.cluster = PgCluster.start(parent=Path(tempfile.gettempdir()))
        emit(
            step="postgresql_cluster",
            seconds=round(time.perf_counter() - t, 2),
            port=args.cluster.port,
        )
    try:
        for n in args.sizes:
            run_size(n, args)
    finally:
        if args.cluster is not None:
            db.dispose_engines()
            args.cluster.close()


if __name__ == "__main__":
    main()
