"""Test fixtures: every test gets its own real, migrated SQLite database and file store.

The schema is migrated once per test session into a template file (the migrations themselves are
under test); each test copies it, which costs about a millisecond and isolates tests completely.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from labelhub_app import db
from labelhub_app.adapters.storage import get_store
from labelhub_app.config import Settings, get_settings, reset_settings


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
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labelhub_app.migrations import upgrade

    path = tmp_path_factory.mktemp("template") / "labelhub.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db.get_engine(url).dispose()
    db.dispose_engines()
    return path


@pytest.fixture
def settings(
    tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(template_db, data_dir / "labelhub.db")
    monkeypatch.setenv("LABELHUB_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LABELHUB_DATABASE_URL", raising=False)
    _reset_process_singletons()
    yield get_settings()
    _reset_process_singletons()


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    with db.session_scope() as s:
        yield s
