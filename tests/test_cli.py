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


def _bought_project(session):  # type: ignore[no-untyped-def]
    from labelhub_app.services import annotations as ann
    from tests.factories import make_image, make_project, make_user

    producer = make_user(session, "producer", email="maker@example.com")
    consumer = make_user(session, "consumer", email="buyer@example.com")
    images = [make_image(session, producer, name=n) for n in ("one.jpg", "two.jpg")]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=images[0].public_id,
        base_revision=1,
        edits=[
            ann.BoxEdit("create", {"id": "b1", "label": "dog", "x": 1, "y": 2, "w": 30, "h": 40})
        ],
    )
    project = make_project(session, consumer, "Nightly")
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in images],
        idempotency_key="cli-k",
    )
    return producer, images


def _mark(output: str) -> str:
    import re

    match = re.search(r"Mark: (m1\.\d+\.\d+)", output)
    assert match, output
    return match[1]


def test_export_formats_and_since(settings, session, tmp_path):
    import json

    from labelhub_app.services import annotations as ann

    producer, images = _bought_project(session)
    out = tmp_path / "full.coco.json"
    args = ["export", "Nightly", "--as", "buyer@example.com", "--out"]
    r = runner.invoke(app, [*args, str(out), "--format", "coco"])
    assert r.exit_code == 0, r.output
    assert "2 image(s)" in r.output
    doc = json.loads(out.read_text())
    assert [i["file_name"] for i in doc["images"]] == ["one.jpg", "two.jpg"]
    assert [a["bbox"] for a in doc["annotations"]] == [[1, 2, 30, 40]]
    mark = _mark(r.output)

    ann.save_annotations(
        session,
        actor=producer,
        image_id=images[1].public_id,
        base_revision=1,
        edits=[
            ann.BoxEdit("create", {"id": "b2", "label": "cat", "x": 5, "y": 5, "w": 10, "h": 10})
        ],
    )
    changed = tmp_path / "changed-yolo.zip"
    r = runner.invoke(app, [*args, str(changed), "-f", "yolo", "--since", mark])
    assert r.exit_code == 0, r.output
    assert f"1 image(s) changed since {mark}" in r.output
    names = zipfile.ZipFile(changed).namelist()
    assert [n for n in names if n.startswith("labels/")] == ["labels/two.txt"]
    assert _mark(r.output) != mark

    r = runner.invoke(app, [*args, str(tmp_path / "x"), "--since", "yesterday"])
    assert r.exit_code == 1 and "not a mark" in r.output and not (tmp_path / "x").exists()
    r = runner.invoke(app, [*args, str(tmp_path / "x"), "--format", "tfrecord"])
    assert r.exit_code == 1 and "Unknown export format" in r.output
    r = runner.invoke(app, ["export", "Nightly", "--as", "nobody@example.com", "--out", "x"])
    assert r.exit_code == 2 and "no account" in r.output


def test_import_folder_zip_and_problems(settings, session, tmp_path):
    import csv

    from labelhub_app.formats.records import Box, Dataset, ImageRecord
    from labelhub_app.formats.voc import write_voc_files
    from labelhub_app.services import annotations as ann

    _, images = _bought_project(session)
    dataset = Dataset.of(
        [
            ImageRecord("one.jpg", 320, 240, ("outdoor",), (Box("dog", 10, 10, 50, 50),)),
            ImageRecord("two.jpg", 320, 240, (), (Box("cat", 0, 0, 20, 20),)),
            ImageRecord("three.jpg", 320, 240, (), (Box("cat", 0, 0, 20, 20),)),
        ]
    )
    folder = tmp_path / "voc"
    for path, data in write_voc_files(dataset).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    (folder / "JPEGImages").mkdir()
    (folder / "JPEGImages" / "one.jpg").write_bytes(b"not read")
    problems = tmp_path / "problems.csv"
    r = runner.invoke(
        app,
        [
            "import",
            str(folder),
            "--as",
            "maker@example.com",
            "--format",
            "voc",
            "--problems",
            str(problems),
        ],
    )
    assert r.exit_code == 3, r.output
    assert "2 image(s) updated" in r.output and "1 problem(s)" in r.output
    assert "three.jpg" in r.output
    rows = list(csv.reader(problems.open()))
    assert rows[0] == ["file", "line", "record", "problem"] and len(rows) == 2
    session.expire_all()
    assert [b["label"] for b in ann.current_boxes(session, images[1].id)] == ["cat"]

    archive = tmp_path / "voc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path, data in write_voc_files(Dataset.of(dataset.images[:2])).items():
            zf.writestr(path, data)
    r = runner.invoke(app, ["import", str(archive), "--as", "maker@example.com", "-f", "voc"])
    assert r.exit_code == 0, r.output
    assert "0 image(s) updated, 2 matched" in r.output  # the same boxes: nothing changes

    r = runner.invoke(app, ["import", str(archive), "--as", "buyer@example.com", "-f", "voc"])
    assert r.exit_code == 1 and "producer role" in r.output
    r = runner.invoke(
        app, ["import", str(tmp_path / "nope"), "--as", "maker@example.com", "-f", "voc"]
    )
    assert r.exit_code == 2
