"""Backup and restore of a whole installation: the database and the object store.

``backup(dest)`` makes a consistent copy while the app keeps running:

- the database first: SQLite through its online backup API (``sqlite3.Connection.backup``, one
  step, so a snapshot even while others write), PostgreSQL through ``pg_dump --format=custom``
  (one repeatable-read snapshot);
- then every object in the store, through the object-store port (local files or S3), each with
  its size and SHA-256 in ``objects.jsonl``. Objects are content-addressed and never rewritten,
  and the sweeper only removes unreferenced files older than an hour, so every object the
  database snapshot refers to is still there when it is copied;
- last ``manifest.json``: the format, the database file with its SHA-256, the schema revision,
  the row count of every table and the object totals. A backup without a manifest is incomplete.

``restore(src)`` brings a backup into an EMPTY installation (the configured database and object
store): it refuses one that has accounts, images or stored objects. It checks every file's
SHA-256 before using it, loads the database (a file copy for SQLite, ``pg_restore`` for
PostgreSQL), writes the objects, and compares the row counts with the manifest. Restoring into a
newer LabelHub: run ``labelhub migrate`` afterwards. A backup restores into the same kind of
database it was taken from.

Layout of a backup folder::

    manifest.json  database.sqlite3 | database.pgdump  objects.jsonl  objects/<key>
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL, Connection
from sqlmodel import SQLModel

import labelhub_app.models  # noqa: F401  (registers every table)
from labelhub_app.adapters.storage import ObjectStore, make_store
from labelhub_app.config import Settings, get_settings
from labelhub_app.db import make_engine, normalize_url
from labelhub_app.errors import Conflict, InvalidInput, Unavailable

FORMAT = "labelhub-backup"
VERSION = 1
MANIFEST = "manifest.json"
OBJECTS_LIST = "objects.jsonl"
OBJECTS_DIR = "objects"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
# An installation with rows in these tables (or any stored object) is not empty.
USER_DATA_TABLES = ("users", "images")

Progress = Callable[[str, int, int | None], None]  # (stage, done, total or None)


def _no_progress(_stage: str, _done: int, _total: int | None) -> None:
    return None


@dataclass(frozen=True)
class RestoreResult:
    tables: int
    rows: int
    objects: int
    object_bytes: int


# ------------------------------------------------------------------------------- helpers
def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_tool(name: str, settings: Settings) -> str:
    """pg_dump / pg_restore: LABELHUB_PG_BINDIR, else the newest installed PostgreSQL's, or PATH."""
    folders = [settings.pg_bindir] if settings.pg_bindir else []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        folders += [p / "bin" for p in reversed(versions)]
    for folder in folders:
        if folder and (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise Unavailable(
            f"{name} is not installed; install PostgreSQL's client programs "
            "(apt-get install postgresql-client) or set LABELHUB_PG_BINDIR"
        )
    return found


def _libpq_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password travels in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return ["--dbname", plain.render_as_string(hide_password=False)], env


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _table_counts(conn: Connection) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    counts = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in present:
            counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    if "alembic_version" in present:
        counts["alembic_version"] = conn.execute(
            text("SELECT count(*) FROM alembic_version")
        ).scalar_one()
    return counts


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# ------------------------------------------------------------------------------- backup
def backup(
    dest: Path, *, settings: Settings | None = None, progress: Progress = _no_progress
) -> dict[str, Any]:
    """Back up the configured installation into ``dest`` (new or empty); returns the manifest."""
    settings = settings or get_settings()
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise Conflict(f"{dest} is not empty: give a new or empty folder for the backup")
    dest.mkdir(parents=True, exist_ok=True)
    url = normalize_url(settings.resolved_database_url)
    dialect = url.get_backend_name()
    started = datetime.now(UTC)

    # 1. the database snapshot (before the objects: every object it refers to already exists)
    if dialect == "sqlite":
        db_file = dest / SQLITE_FILE
        _sqlite_backup(_sqlite_path(url), db_file, progress)
        counts, revision = _sqlite_counts(db_file)  # of the copy itself
    elif dialect == "postgresql":
        db_file = dest / PG_FILE
        counts, revision = _pg_dump(url, db_file, settings, progress)
    else:
        raise InvalidInput(f"backups of {dialect} databases are not supported")

    # 2. the objects
    store = make_store(settings)
    objects_count, objects_bytes = _copy_objects_out(store, dest, progress)

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "database": {
            "dialect": dialect,
            "file": db_file.name,
            "size_bytes": db_file.stat().st_size,
            "sha256": _sha256_file(db_file),
            "revision": revision,
            "tables": counts,
        },
        "objects": {
            "list": OBJECTS_LIST,
            "folder": OBJECTS_DIR,
            "count": objects_count,
            "size_bytes": objects_bytes,
            "storage_backend": settings.storage_backend,
        },
    }
    tmp = dest / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(dest / MANIFEST)
    return manifest


def _sqlite_backup(source: Path, target: Path, progress: Progress) -> None:
    if not source.exists():
        raise InvalidInput(f"there is no database at {source}: nothing to back up")
    progress("Copying the database", 0, 1)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1: one step under one read transaction, so a consistent snapshot even while
        # the app writes (WAL lets writers go on meanwhile)
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()
    progress("Copying the database", 1, 1)


def _sqlite_counts(path: Path) -> tuple[dict[str, int], str | None]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return _table_counts(conn), _revision(conn)
    finally:
        engine.dispose()


def _pg_dump(
    url: URL, target: Path, settings: Settings, progress: Progress
) -> tuple[dict[str, int], str | None]:
    """pg_dump of one exported snapshot; the manifest's row counts come from the same snapshot."""
    stage = "Dumping the database (pg_dump)"
    progress(stage, 0, 1)
    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = _table_counts(conn)
                revision = _revision(conn)
                conn_args, env = _libpq_args(url)
                cmd = [
                    _pg_tool("pg_dump", settings),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(target),
                    *conn_args,
                ]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise Unavailable(f"pg_dump failed: {done.stderr.strip() or done.returncode}")
    progress(stage, 1, 1)
    return counts, revision


def _copy_objects_out(store: ObjectStore, dest: Path, progress: Progress) -> tuple[int, int]:
    keys = sorted(k for k in store.iter_keys("") if not k.startswith("health/"))
    folder = dest / OBJECTS_DIR
    total_bytes = 0
    stage = "Copying objects"
    progress(stage, 0, len(keys))
    with (dest / OBJECTS_LIST).open("w", encoding="utf-8") as listing:
        for n, key in enumerate(keys, 1):
            target = folder / key
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            size = 0
            try:
                with store.open(key) as src, target.open("wb") as out:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            except KeyError:  # deleted since listed: an unreferenced file the sweeper removed
                target.unlink(missing_ok=True)
                continue
            listing.write(json.dumps({"key": key, "size": size, "sha256": digest.hexdigest()}))
            listing.write("\n")
            total_bytes += size
            progress(stage, n, len(keys))
    return sum(1 for _ in _read_listing(dest)), total_bytes


def _read_listing(folder: Path) -> list[dict[str, Any]]:
    path = folder / OBJECTS_LIST
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ------------------------------------------------------------------------------- restore
def read_manifest(src: Path) -> dict[str, Any]:
    path = Path(src) / MANIFEST
    if not path.exists():
        raise InvalidInput(
            f"{src} holds no {MANIFEST}: not a LabelHub backup, or one that did not finish"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InvalidInput(f"{path} is not a LabelHub backup of version {VERSION}")
    return manifest


def installation_contents(settings: Settings | None = None) -> list[str]:
    """What the configured installation already holds ([] when it is empty)."""
    settings = settings or get_settings()
    found: list[str] = []
    url = normalize_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or _sqlite_path(url).exists():
        engine = make_engine(url, settings)
        try:
            with engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                for name in USER_DATA_TABLES:
                    if name in present:
                        rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                        if rows:
                            found.append(f"{rows} row(s) in {name}")
        finally:
            engine.dispose()
    store = make_store(settings)
    objects = sum(1 for key in store.iter_keys("") if not key.startswith("health/"))
    if objects:
        found.append(f"{objects} stored object(s)")
    return found


def restore(
    src: Path, *, settings: Settings | None = None, progress: Progress = _no_progress
) -> RestoreResult:
    """Load the backup in ``src`` into the configured, empty installation."""
    settings = settings or get_settings()
    src = Path(src)
    manifest = read_manifest(src)
    url = normalize_url(settings.resolved_database_url)
    dialect = url.get_backend_name()
    db_info = manifest["database"]
    if db_info["dialect"] != dialect:
        raise InvalidInput(
            f"this backup holds a {db_info['dialect']} database, but LabelHub is configured "
            f"with {dialect} ({url.render_as_string(hide_password=True)}): set "
            "LABELHUB_DATABASE_URL to a database of the same kind"
        )
    contents = installation_contents(settings)
    if contents:
        raise Conflict(
            "restore needs an empty installation, but this one has "
            + ", ".join(contents)
            + f" (database {url.render_as_string(hide_password=True)}). Point LABELHUB_DATA_DIR "
            "and LABELHUB_DATABASE_URL at a new installation, or remove this one first."
        )

    # every file is checked before anything is written
    db_file = src / db_info["file"]
    stage = "Checking the backup"
    listing = _read_listing(src)
    progress(stage, 0, len(listing) + 1)
    if not db_file.exists() or _sha256_file(db_file) != db_info["sha256"]:
        raise InvalidInput(f"{db_file} is missing or damaged (its SHA-256 differs)")
    if len(listing) != manifest["objects"]["count"]:
        raise InvalidInput(
            f"{src / OBJECTS_LIST} lists {len(listing)} objects, not "
            f"{manifest['objects']['count']}: the backup is incomplete"
        )
    for n, item in enumerate(listing, 1):
        path = src / OBJECTS_DIR / item["key"]
        if not path.exists() or path.stat().st_size != item["size"]:
            raise InvalidInput(
                f"object {item['key']} is missing from the backup or has the wrong size"
            )
        if _sha256_file(path) != item["sha256"]:
            raise InvalidInput(f"object {item['key']} is damaged (its SHA-256 differs)")
        progress(stage, n + 1, len(listing) + 1)

    if dialect == "sqlite":
        _sqlite_restore(db_file, _sqlite_path(url), progress)
    else:
        _pg_restore(db_file, url, settings, progress)

    store = make_store(settings)
    stage = "Writing objects"
    written = 0
    progress(stage, 0, len(listing))
    for n, item in enumerate(listing, 1):
        data = (src / OBJECTS_DIR / item["key"]).read_bytes()
        content_type = mimetypes.guess_type(item["key"])[0] or "application/octet-stream"
        store.put_bytes(item["key"], data, content_type=content_type)
        written += len(data)
        progress(stage, n, len(listing))

    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            counts = _table_counts(conn)
    finally:
        engine.dispose()
    wrong = {
        name: (rows, counts.get(name))
        for name, rows in db_info["tables"].items()
        if counts.get(name) != rows
    }
    if wrong:
        detail = ", ".join(
            f"{n}: {got} rows, backup had {want}" for n, (want, got) in wrong.items()
        )
        raise InvalidInput(f"the restored database differs from the backup ({detail})")
    return RestoreResult(
        tables=len(counts), rows=sum(counts.values()), objects=len(listing), object_bytes=written
    )


def _sqlite_restore(db_file: Path, target: Path, progress: Progress) -> None:
    stage = "Restoring the database"
    progress(stage, 0, 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the target is empty (checked); its old file and WAL go, the backup's copy takes its place
    src = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()
    progress(stage, 1, 1)


def _pg_restore(db_file: Path, url: URL, settings: Settings, progress: Progress) -> None:
    stage = "Restoring the database (pg_restore)"
    progress(stage, 0, 1)
    engine = make_engine(url, settings)
    try:  # an empty installation may still hold LabelHub's migrated schema: drop only those tables
        with engine.begin() as conn:
            ours = {t.name for t in SQLModel.metadata.sorted_tables} | {"alembic_version"}
            tables = [t for t in inspect(conn).get_table_names() if t in ours]
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(text(f"DROP TABLE IF EXISTS {names} CASCADE"))
    finally:
        engine.dispose()
    conn_args, env = _libpq_args(url)
    cmd = [
        _pg_tool("pg_restore", settings),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        *conn_args,
        str(db_file),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Unavailable(f"pg_restore failed: {done.stderr.strip() or done.returncode}")
    progress(stage, 1, 1)
