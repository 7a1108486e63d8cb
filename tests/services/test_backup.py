"""`labelhub backup` / `labelhub restore` on the session's database backend (SQLite or PostgreSQL).

A real installation (accounts, images with files, labels, box revisions, purchases, ledger) is
backed up, restored into a fresh folder and a fresh database, and compared table by table, row by
row, and file by file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from labelhub_app import db
from labelhub_app.adapters.storage import make_store
from labelhub_app.cli import app
from labelhub_app.config import Settings
from labelhub_app.errors import Conflict, InvalidInput
from labelhub_app.models import Image
from labelhub_app.services import annotations as ann
from labelhub_app.services import backup, ledger, market
from tests.factories import make_image, make_project, make_user

runner = CliRunner()


@dataclass
class Installation:
    settings: Settings
    producer_id: int | None = None

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url


@pytest.fixture
def filled(session: Session, settings: Settings) -> Installation:
    """Two producers' images with labels and boxes, a consumer's purchases and a top-up."""
    producer = make_user(session, "producer")
    other = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    images = [make_image(session, producer, labels=("dog", "park")) for _ in range(3)]
    images.append(make_image(session, other, labels=("car",), price_cents=400))
    for k, image in enumerate(images[:2]):
        ann.save_annotations(
            session,
            actor=image_owner(session, image, producer, other),
            image_id=image.public_id,
            base_revision=image.revision,
            edits=[
                ann.BoxEdit(
                    "create",
                    {"id": f"box-{k}", "label": "dog", "x": 10, "y": 10, "w": 50, "h": 40},
                )
            ],
        )
    ledger.top_up(session, user=consumer, amount_cents=500_00, idempotency_key="backup-top-up")
    project = make_project(session, consumer, "Backed up")
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in images[:3]],
        idempotency_key="backup-buy",
    )
    return Installation(settings, producer.id)


def image_owner(session: Session, image: Image, *users):  # type: ignore[no-untyped-def]
    return next(u for u in users if u.id == image.owner_id)


@pytest.fixture
def fresh_installation(
    tmp_path: Path, database_backend: str, request: pytest.FixtureRequest
) -> Callable[[], Installation]:
    """A new, EMPTY installation: a new data folder and a database with no schema at all."""
    made = []

    def make() -> Installation:
        n = len(made) + 1
        data_dir = tmp_path / f"restored{n}"
        data_dir.mkdir()
        if database_backend == "postgresql":
            cluster = request.getfixturevalue("pg_cluster")
            name = f"restored_{tmp_path.name[-20:]}_{n}".replace("-", "_")
            url = cluster.create_database(name)
            request.addfinalizer(lambda: (db.dispose_engines(), cluster.drop_database(name)))
        else:
            url = ""  # the default SQLite file in data_dir, which does not exist yet
        made.append(data_dir)
        return Installation(Settings(data_dir=data_dir, database_url=url))

    return make


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key."""
    engine = db.make_engine(url)
    out: dict[str, list[tuple]] = {}
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in SQLModel.metadata.sorted_tables:
                if table.name not in present:
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    finally:
        engine.dispose()
    return out


def count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    with db.session_scope(url) as s:
        return s.exec(select(func.count()).select_from(model)).one()[0]


def test_restore_brings_back_every_row_and_file(
    filled: Installation, fresh_installation, tmp_path: Path
) -> None:
    from labelhub_app.models import (
        AnnotationRevision,
        Box,
        LedgerEntry,
        LedgerTransaction,
        Purchase,
    )

    stages: list[str] = []
    manifest = backup.backup(
        tmp_path / "bk", settings=filled.settings, progress=lambda s, _d, _t: stages.append(s)
    )
    assert (tmp_path / "bk" / "manifest.json").exists()
    assert manifest["database"]["tables"]["images"] == 4
    assert manifest["objects"]["count"] >= 4 * 3  # original + two thumbnails each
    assert any("objects" in s for s in stages)

    target = fresh_installation()
    result = backup.restore(tmp_path / "bk", settings=target.settings)
    assert result.objects == manifest["objects"]["count"]

    before, after = table_rows(filled.url), table_rows(target.url)
    assert before.keys() == after.keys()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after restore"
    for model, least in (
        (Image, 4),
        (Box, 2),
        (AnnotationRevision, 6),
        (Purchase, 3),
        (LedgerTransaction, 3),
        (LedgerEntry, 6),
    ):
        assert count(target.url, model) >= least, model.__name__

    source_store, restored_store = make_store(filled.settings), make_store(target.settings)
    keys = sorted(source_store.iter_keys(""))
    assert keys == sorted(restored_store.iter_keys(""))
    for key in keys:
        with source_store.open(key) as a, restored_store.open(key) as b:
            assert a.read() == b.read(), key

    with db.session_scope(target.url) as s:  # the restored money still adds up
        assert ledger.check_ledger(s).ok


def test_restore_refuses_a_non_empty_installation_and_a_damaged_backup(
    filled: Installation, fresh_installation, tmp_path: Path
) -> None:
    backup.backup(tmp_path / "bk", settings=filled.settings)
    with pytest.raises(Conflict, match=r"empty installation.*row\(s\) in users"):
        backup.restore(tmp_path / "bk", settings=filled.settings)

    with pytest.raises(Conflict, match="is not empty"):
        backup.backup(tmp_path / "bk", settings=filled.settings)

    listing = (tmp_path / "bk" / "objects.jsonl").read_text().splitlines()
    victim = json.loads(listing[0])["key"]
    (tmp_path / "bk" / "objects" / victim).write_bytes(b"x" * json.loads(listing[0])["size"])
    target = fresh_installation()
    with pytest.raises(InvalidInput, match=f"object {victim} is damaged"):
        backup.restore(tmp_path / "bk", settings=target.settings)
    assert backup.installation_contents(target.settings) == []  # nothing was written

    (tmp_path / "bk" / "manifest.json").unlink()
    with pytest.raises(InvalidInput, match="not a LabelHub backup"):
        backup.restore(tmp_path / "bk", settings=target.settings)


def test_backup_while_the_app_writes_is_consistent(
    filled: Installation, session: Session, fresh_installation, tmp_path: Path
) -> None:
    """Uploads and purchases go on during the backup; the copy is a consistent snapshot."""
    from labelhub_app.models import User

    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def keep_writing() -> None:
        with db.session_scope() as s:
            owner = s.get(User, filled.producer_id)
            consumer = make_user(s, "consumer")
            ledger.top_up(s, user=consumer, amount_cents=500_00, idempotency_key="w-top-up")
            project = make_project(s, consumer)
            n = 0
            while not stop.is_set() and n < 40:
                try:
                    image = make_image(s, owner, labels=("busy",), price_cents=100)
                    market.buy_images(
                        s,
                        buyer=consumer,
                        project_id=project.public_id,
                        image_ids=[image.public_id],
                        idempotency_key=f"w{n}",
                    )
                    written.append(n)
                except BaseException as exc:
                    errors.append(exc)
                    return
                n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 2 and writer.is_alive():
            threading.Event().wait(0.05)
        backup.backup(tmp_path / "bk", settings=filled.settings)
    finally:
        stop.set()
        writer.join(60)
    assert not errors, errors
    assert written, "the writer did nothing during the backup"

    target = fresh_installation()
    backup.restore(tmp_path / "bk", settings=target.settings)
    store = make_store(target.settings)
    with db.session_scope(target.url) as s:
        assert ledger.check_ledger(s).ok
        restored = s.exec(select(Image)).all()
        assert len(restored) >= 4
        for (image,) in restored:
            assert store.exists(image.object_key), image.file_name


def test_cli_backup_and_restore(filled: Installation, fresh_installation, tmp_path, monkeypatch):
    r = runner.invoke(app, ["backup", str(tmp_path / "cli-bk")])
    assert r.exit_code == 0, r.output
    assert "Backup written to" in r.output and "objects" in r.output

    r = runner.invoke(app, ["restore", str(tmp_path / "cli-bk")])  # into the same: refused
    assert r.exit_code == 1 and "restore needs an empty installation" in r.output

    target = fresh_installation()
    monkeypatch.setenv("LABELHUB_DATA_DIR", str(target.settings.data_dir))
    monkeypatch.setenv("LABELHUB_DATABASE_URL", target.settings.database_url)
    from labelhub_app.config import reset_settings

    reset_settings()
    db.dispose_engines()
    r = runner.invoke(app, ["restore", str(tmp_path / "cli-bk")])
    assert r.exit_code == 0, r.output
    assert "every object's SHA-256 matched" in r.output
    assert count(target.url, Image) == 4
