"""`labelhub train` and `labelhub worker` (the worker part needs torch)."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from labelhub_app.cli import app
from labelhub_app.models import Job
from tests.factories import make_user

runner = CliRunner()


def test_train_queues_a_job_for_admins_only(session):
    admin = make_user(session, "producer")
    admin.is_admin = True
    session.add(admin)
    session.commit()
    producer = make_user(session, "producer")
    r = runner.invoke(app, ["train", "--as", producer.email])
    assert r.exit_code == 1 and "Only admins train the global detector" in r.output
    r = runner.invoke(app, ["train", "--as", admin.email])
    assert r.exit_code == 0, r.output
    job = session.exec(select(Job)).one()
    assert job.kind == "train" and job.public_id in r.output
    r = runner.invoke(app, ["train", "--as", producer.email, "--scope", "producer"])
    assert r.exit_code == 0, r.output
    session.expire_all()
    assert len(session.exec(select(Job)).all()) == 2


def test_worker_runs_until_the_queue_is_empty(session):
    pytest.importorskip("torch")
    r = runner.invoke(app, ["worker", "--exit-when-idle"])
    assert r.exit_code == 0, r.output
