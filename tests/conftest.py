"""Test fixtures: every test gets its own real, migrated database and file store.

The backend is chosen by ``LABELHUB_TEST_DATABASE``: ``sqlite`` (the default) or ``postgresql``.

- SQLite: the schema is migrated once per test session into a template file; each test copies it
  (about a millisecond).
- PostgreSQL: the fixtures start a throwaway PostgreSQL 15 cluster (tests/pg_cluster.py: initdb +
  pg_ctl on a free port in a temporary folder, fsync off; about a second), migrate a template
  database once, and give each test its own ``CREATE DATABASE ... TEMPLATE`` copy (about 30 ms,
  dropped afterwards). Measured against truncating every table and re-seeding the migrations'
  rows, the copy is both faster and simpler.

Either way the migrations themselves are under test and services commit as in production.
Fixtures: ``database_backend`` ("sqlite" | "postgresql"), ``pg_cluster`` (the session's cluster,
started on first use on either backend; skips when PostgreSQL is not installed),
``new_database_url()`` (a fresh migrated database, for a test that needs a second one),
``settings`` and ``session``.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from labelhub_app import db
from labelhub_app.adapters.storage import get_store
from labelhub_app.config import Settings, get_settings, reset_settings
from tests import pg_cluster as pgc

BACKEND = os.environ.get("LABELHUB_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if BACKEND in ("pg", "postgres"):
    BACKEND = "postgresql"
if BACKEND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"LABELHUB_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")

_TEMPLATE_NAME = "labelhub_template"
_db_numbers = itertools.count(1)


def pytest_report_header(config: pytest.Config) -> str:
    return f"labelhub database backend: {BACKEND} (LABELHUB_TEST_DATABASE)"


def _reset_process_singletons() -> None:
    reset_settings()
    get_store.cache_clear()
    db.dispose_engines()
    try:
        from labelhub_app.services import search

        search.reset_index()
    except (ImportError, AttributeError):
        pass


@pytest.fixture(scope="session")
def database_backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgc.PgCluster]:
    if not pgc.available():
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    cluster = pgc.PgCluster.start()
    try:
        yield cluster
    finally:
        db.dispose_engines()
        cluster.close()


@pytest.fixture(scope="session")
def template_db(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path | str:
    """The migrated template: a SQLite file (Path), or on PostgreSQL the template database name."""
    from labelhub_app.migrations import upgrade

    if BACKEND == "postgresql":
        cluster: pgc.PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database(_TEMPLATE_NAME)
        upgrade(url)
        db.dispose_engines()
        return _TEMPLATE_NAME
    path = tmp_path_factory.mktemp("template") / "labelhub.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db.get_engine(url).dispose()
    db.dispose_engines()
    return path


@pytest.fixture
def new_database_url(
    tmp_path: Path, template_db: Path | str, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """A factory of fresh migrated databases on the session's backend (dropped after the test)."""
    created: list[str] = []
    cluster: pgc.PgCluster | None = (
        request.getfixturevalue("pg_cluster") if BACKEND == "postgresql" else None
    )

    def make() -> str:
        number = next(_db_numbers)
        if cluster is not None:
            name = f"test_{os.getpid()}_{number}"
            url = cluster.create_database(name, template=str(template_db))
            created.append(name)
            return url
        folder = tmp_path / f"db{number}"
        folder.mkdir()
        shutil.copy(template_db, folder / "labelhub.db")
        return f"sqlite:///{folder / 'labelhub.db'}"

    yield make
    if cluster is not None:
        db.dispose_engines()
        for name in created:
            cluster.drop_database(name)


@pytest.fixture
def settings(
    tmp_path: Path,
    template_db: Path | str,
    new_database_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("LABELHUB_DATA_DIR", str(data_dir))
    if BACKEND == "postgresql":
        monkeypatch.setenv("LABELHUB_DATABASE_URL", new_database_url())
    else:
        shutil.copy(template_db, data_dir / "labelhub.db")
        monkeypatch.delenv("LABELHUB_DATABASE_URL", raising=False)
    _reset_process_singletons()
    yield get_settings()
    _reset_process_singletons()


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    with db.session_scope() as s:
        yield s
