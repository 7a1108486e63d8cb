"""The `labelhub` command, run in-process against a fresh data dir."""

import zipfile

from sqlmodel import select
from typer.testing import CliRunner

from labelhub_app.cli import app
from labelhub_app.models import Image, Project, User
from labelhub_app.services import market, search

runner = CliRunner()


def test_migrate_demo_reindex_export_sweep_check(settings, session, tmp_path):
    r = runner.invoke(app, ["migrate"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["demo", "--generated", "6"])
    assert r.exit_code == 0, r.output
    assert "consumer@demo.labelhub" in r.output and "labelhub-demo" in r.output
    session.expire_all()
    assert len(session.exec(select(Image)).all()) >= 6
    again = runner.invoke(app, ["demo", "--if-empty"])
    assert "already has data" in again.output

    r = runner.invoke(app, ["reindex"])
    assert r.exit_code == 0 and "Indexed" in r.output
    assert search.search_market(session, query=search.MarketQuery()).total == len(
        session.exec(select(Image)).all()
    )

    consumer = session.exec(select(User).where(User.email == "consumer@demo.labelhub")).one()
    project = session.exec(select(Project).where(Project.owner_id == consumer.id)).one()
    out = tmp_path / "ds.zip"
    r = runner.invoke(
        app, ["export", project.name, "--out", str(out), "--as", "consumer@demo.labelhub"]
    )
    assert r.exit_code == 1 and "Nothing to download" in r.output and not out.exists()
    some = session.exec(select(Image).limit(2)).all()
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in some],
        idempotency_key="cli",
    )
    r = runner.invoke(
        app, ["export", project.name, "--out", str(out), "--as", "consumer@demo.labelhub"]
    )
    assert r.exit_code == 0, r.output
    assert sum(n.startswith("images/") for n in zipfile.ZipFile(out).namelist()) == 2

    r = runner.invoke(app, ["check-ledger"])
    assert r.exit_code == 0 and "balances" in r.output
    r = runner.invoke(app, ["sweep", "--dry-run"])
    assert r.exit_code == 0 and "Would remove 0" in r.output


def test_make_admin(settings, session):
    from tests.factories import make_user

    user = make_user(session, "producer", email="boss@example.com")
    r = runner.invoke(app, ["make-admin", "Boss@example.com"])
    assert r.exit_code == 0 and "now an admin" in r.output
    session.refresh(user)
    assert user.is_admin
    r = runner.invoke(app, ["make-admin", "nobody@example.com"])
    assert r.exit_code == 1 and "no account" in r.output
