"""Queue benchmark (#6): jobs per second claimed and completed by N worker processes, empty jobs.

(Not named queue.py: that would hide the standard library's queue module from every bench script.)

Each worker process runs the real ``claim_next`` + ``complete`` loop (services/jobs.py) until
the queue is empty; the figure is jobs / wall time from the first claim to the last completion.
Checks that no job ran twice. On SQLite (a fresh embedded database), and on PostgreSQL: a
throwaway PostgreSQL 15 cluster when its binaries are installed (tests/pg_cluster.py), or the
server named by --database-url.

Prints JSON lines. Usage: python bench/job_queue.py [--jobs 2000] [--workers 4]
    [--database-url postgresql://...] [--no-postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKER = """
import json, sys, time
from labelhub_app.db import session_scope
from labelhub_app.services import jobs
name, ids, idle = sys.argv[1], [], 0
first = last = None
with session_scope() as s:
    while idle < 3:
        job = jobs.claim_next(s, worker_id=name)
        if job is None:
            idle += 1
            time.sleep(0.05)
            continue
        idle = 0
        first = first or time.time()
        jobs.complete(s, job_id=job.id, worker_id=name, result={})
        ids.append(job.id)
        last = time.time()
print(json.dumps({"ids": ids, "first": first, "last": last}))
"""


def run(url: str, backend: str, jobs_n: int, workers: int) -> dict:
    os.environ["LABELHUB_DATABASE_URL"] = url
    from labelhub_app import db
    from labelhub_app.config import reset_settings
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Job

    reset_settings()
    db.dispose_engines()
    upgrade(url)
    with db.session_scope(url) as s:
        s.add_all(Job(kind="autolabel", payload={"n": i}) for i in range(jobs_n))
        s.commit()
    env = {**os.environ, "LABELHUB_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"bench-{i}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    ids = [i for o in outs for i in o["ids"]]
    first = min(o["first"] for o in outs if o["first"])
    last = max(o["last"] for o in outs if o["last"])
    db.dispose_engines()
    return {
        "bench": "queue",
        "backend": backend,
        "workers": workers,
        "jobs": len(ids),
        "run_twice": len(ids) - len(set(ids)),
        "seconds": round(last - first, 2),
        "jobs_per_s": round(len(ids) / (last - first), 1),
        "per_worker": [len(o["ids"]) for o in outs],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="lh-bench-queue-")
    os.environ["LABELHUB_DATA_DIR"] = folder
    print(
        json.dumps(run(f"sqlite:///{folder}/labelhub.db", "sqlite", args.jobs, args.workers)),
        flush=True,
    )
    if args.no_postgresql:
        return
    if args.database_url:
        print(json.dumps(run(args.database_url, "postgresql", args.jobs, args.workers)), flush=True)
        return
    from tests import pg_cluster

    if not pg_cluster.available():
        print(
            json.dumps(
                {
                    "bench": "queue",
                    "backend": "postgresql",
                    "skipped": "PostgreSQL is not installed; pass --database-url",
                }
            )
        )
        return
    with pg_cluster.PgCluster.start() as cluster:
        url = cluster.create_database("bench_queue")
        print(json.dumps(run(url, "postgresql", args.jobs, args.workers)), flush=True)


if __name__ == "__main__":
    main()
