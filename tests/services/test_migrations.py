"""Every migration runs down and up again, on the session's backend (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import inspect

from alembic import command
from labelhub_app import db
from labelhub_app.migrations import alembic_config


def test_every_migration_goes_down_to_nothing_and_up_again(
    new_database_url: Callable[[], str],
) -> None:
    url = new_database_url()  # a copy of the migrated template
    engine = db.get_engine(url)
    before = set(inspect(engine).get_table_names())
    assert {"users", "images", "purchases", "ledger_entries"} <= before

    command.downgrade(alembic_config(url), "base")
    db.dispose_engines()
    assert set(inspect(db.get_engine(url)).get_table_names()) <= {"alembic_version"}

    command.upgrade(alembic_config(url), "head")
    db.dispose_engines()
    assert set(inspect(db.get_engine(url)).get_table_names()) == before
    db.dispose_engines()
