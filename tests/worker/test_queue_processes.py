"""Several worker processes claim from one queue at once: every job runs exactly once.

The processes run the real claim/complete code (services/jobs.py) on the test's database with
empty jobs; this needs no torch.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlmodel import func, select

from labelhub_app.config import PROJECT_ROOT
from labelhub_app.models import Job
from labelhub_app.services import jobs

pytestmark = pytest.mark.timeout(600)  # four processes starting on a shared machine

CLAIMER = """
import json, sys, time
from labelhub_app.db import session_scope
from labelhub_app.services import jobs
name, claimed, idle = sys.argv[1], [], 0
while idle < 5:
    with session_scope() as s:
        job = jobs.claim_next(s, worker_id=name)
        if job is None:
            idle += 1
            time.sleep(0.05)
            continue
        idle = 0
        claimed.append(job.id)
        assert jobs.complete(s, job_id=job.id, worker_id=name, result={"by": name})
print(json.dumps(claimed))
"""


def test_four_processes_never_run_a_job_twice(session, worker_env):
    total = 120
    for i in range(total):
        jobs.enqueue(session, kind="autolabel", payload={"n": i}, priority=i % 3)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, f"w{i}"],
            cwd=PROJECT_ROOT,
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    claimed: list[int] = []
    per_worker = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        mine = json.loads(out.strip().splitlines()[-1])
        per_worker.append(len(mine))
        claimed += mine
    assert len(claimed) == total and len(set(claimed)) == total  # each exactly once
    assert sum(1 for n in per_worker if n > 0) >= 2  # they really worked side by side
    session.expire_all()
    assert (
        session.exec(select(func.count()).select_from(Job).where(Job.status == "succeeded")).one()
        == total
    )
    assert session.exec(select(func.max(Job.attempts))).one() == 1
